#!/bin/sh
# make bench, alerts: the default rules evaluated over 1,000 and 10,000 series, through
# `hmctl alerts test` (the evaluator `check` runs, on a store in memory), next to promtool
# evaluating the equivalent Prometheus rules over the same series when it is installed.
# Prints the time per evaluation cycle and its growth from 1,000 to 10,000 series; never fails
# on a timing.
#
# Each size is run twice: with 11 evaluations (0 to 10 minutes, the alerts pending, then
# firing) and with one; the difference over 10 is the time of one cycle, without the start-up
# and the loading of the samples.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
HMCTL=$(pwd)/$BUILD/hmctl
RUNS=${BENCH_ALERTS_RUNS:-3}
dir=$(mktemp -d /tmp/hmctl-bench-alerts.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM

# gen N EVALS FORMAT: rule tests (hmctl) or promtool tests over N series spread over the five
# default resource rules' metrics, every one above its threshold from time 0.
gen() {
	/usr/bin/python3 - "$@" <<'EOF'
import sys
n, last, fmt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
metrics = [("host.cpu.percent", "host-cpu", 90), ("host.memory.percent", "host-memory", 90),
           ("host.disk.root.percent", "host-disk-root", 90),
           ("docker.containers.unhealthy", "containers-unhealthy", 2),
           ("rabbitmq.queue.messages", "rabbitmq-queue", 50)]
series = []
for i in range(n):
    metric, rule, value = metrics[i % len(metrics)]
    label = "queue" if metric.startswith("rabbitmq") else "host"
    series.append((metric, rule, label, "x%05d" % i, value))
state = "firing" if last >= 5 else "pending"
if fmt == "hmctl":
    print("[alerts]\ndefaults = yes")
    print('[test "bench"]')
    for metric, rule, label, v, value in series:
        print('series %s{%s="%s"} = %gx%d' % (metric, label, v, value, last))
    print("%s %dm = %s" % (state, last, ", ".join(
        '%s{%s="%s"}' % (rule, label, v) for metric, rule, label, v, value in series)))
else:
    print("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m")
    print("  input_series:")
    for metric, rule, label, v, value in series:
        print("  - series: '%s{%s=\"%s\"}'\n    values: '%gx%d'"
              % (metric.replace(".", "_"), label, v, value, last))
    print("  alert_rule_test:")
    if last >= 5:
        for m, rule, _ in metrics:
            print("  - eval_time: %dm\n    alertname: %s\n    exp_alerts:" % (last, rule))
            for metric, r, label, v, value in series:
                if r == rule:
                    print("    - exp_labels: {%s: %s}" % (label, v))
    else:
        print("  - eval_time: %dm\n    alertname: host-cpu\n    exp_alerts: []" % last)
EOF
}

cat >"$dir/rules.yml" <<'EOF'
groups:
- name: defaults
  rules:
  - {alert: host-cpu, expr: host_cpu_percent >= 80, for: 5m}
  - {alert: host-memory, expr: host_memory_percent >= 80, for: 5m}
  - {alert: host-disk-root, expr: host_disk_root_percent >= 80, for: 5m}
  - {alert: containers-unhealthy, expr: docker_containers_unhealthy >= 1, for: 5m}
  - {alert: rabbitmq-queue, expr: rabbitmq_queue_messages >= 10, for: 5m}
EOF

# best_ms COMMAND...: the fastest of RUNS runs, in milliseconds.
best_ms() {
	best=""
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; "$@" | tail -n 5 >&2; return 1; }
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
		i=$((i + 1))
	done
	echo "$best"
}

have_promtool=no
command -v promtool >/dev/null 2>&1 && have_promtool=yes

echo
echo "== alert rules: the 5 default resource rules, evaluated every minute, all series firing"
for n in 1000 10000; do
	gen "$n" 10 hmctl >"$dir/h$n-10.rules"
	gen "$n" 0 hmctl >"$dir/h$n-0.rules"
	t10=$(best_ms "$HMCTL" alerts test "$dir/h$n-10.rules")
	t0=$(best_ms "$HMCTL" alerts test "$dir/h$n-0.rules")
	cycle=$(( (t10 - t0) * 10 ))
	eval "cycle_$n=$cycle"
	line=$(printf '  %5d series: hmctl %6d.%d ms per cycle (11 cycles %d ms, 1 cycle %d ms)' \
		"$n" $((cycle / 100)) $(((cycle / 10) % 10)) "$t10" "$t0")
	if [ "$have_promtool" = yes ]; then
		gen "$n" 10 promtool >"$dir/p$n-10.yml"
		gen "$n" 0 promtool >"$dir/p$n-0.yml"
		p10=$(cd "$dir" && best_ms promtool test rules "p$n-10.yml")
		p0=$(cd "$dir" && best_ms promtool test rules "p$n-0.yml")
		pcycle=$(( (p10 - p0) * 10 ))
		line="$line; promtool $((pcycle / 100)).$(((pcycle / 10) % 10)) ms"
	fi
	echo "$line"
done
# cycle_N is in hundredths of a millisecond
if [ "$cycle_1000" -gt 0 ]; then
	g=$((cycle_10000 * 100 / cycle_1000))
	echo "  growth 1,000 -> 10,000 series: x$((g / 100)).$((g % 100 / 10)) (linear: x10)"
else
	echo "  growth 1,000 -> 10,000 series: the 1,000-series cycle is below the clock's resolution"
fi
[ "$have_promtool" = yes ] || echo "  (promtool not installed: no peer timing)"
