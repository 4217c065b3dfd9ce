#!/usr/bin/python3
"""Points for the sink tests, and their check against what InfluxDB 1.x answers to SELECT.

  influx-points.py gen CYCLE TS_MS
      Prints one cycle's samples ("SERIES<TAB>VALUE<TAB>TS_MS" lines, as tsdb-tool reads
      them): label values with spaces, commas, equals signs, quotes, a backslash and CJK
      text; values that are integers, fractions, tiny, huge, negative, and one NaN (which
      line protocol cannot carry, so it must not arrive).
  influx-points.py verify URL DB TAG=VALUE... < LINES
      Reads every line that was handed to the sink (in order; a later line for the same series
      and time stamp replaces an earlier one, as InfluxDB does), asks URL for
      SELECT * FROM /.*/ GROUP BY * in DB, and checks that the two sets are equal point for
      point: measurement, every tag (the series' labels plus the TAG=VALUE ones the sink adds),
      time stamp and the exact float value. Prints "ok N" or the differences, exit 1.
"""
import json
import math
import sys
import urllib.parse
import urllib.request

LABELS = [
    'plain',
    'with space',
    'comma,inside',
    'equals=sign',
    'all of , = at once=yes',
    'quote"d',
    'C:\\temp\\x',
    '中文 队列',
]


def series(metric, **labels):
    parts = []
    for k in sorted(labels):
        v = labels[k].replace('\\', '\\\\').replace('"', '\\"')
        parts.append('%s="%s"' % (k, v))
    return metric + ('{' + ','.join(parts) + '}' if parts else '')


def parse_series(name):
    brace = name.find('{')
    if brace < 0:
        return name, {}
    metric, rest, labels = name[:brace], name[brace + 1:-1], {}
    i = 0
    while i < len(rest):
        eq = rest.index('=', i)
        key = rest[i:eq]
        i = eq + 2
        val = []
        while rest[i] != '"':
            if rest[i] == '\\' and rest[i + 1] in '\\"':
                i += 1
            val.append(rest[i])
            i += 1
        labels[key] = ''.join(val)
        i += 1
        if i < len(rest) and rest[i] == ',':
            i += 1
    return metric, labels


def gen(cycle, ts):
    values = [cycle, -cycle * 1.5, 0.1 * cycle, 1e-300, 1.7976931348623157e308, 12345678.901234567,
              -0.0, 2 ** 53 + 2]
    out = []
    for i, label in enumerate(LABELS):
        out.append((series('sink.test.value', queue=label, idx=str(i)), values[i % len(values)], ts))
    out.append((series('sink.test.counter'), float(cycle * 1000), ts))
    out.append((series('sink.test.nan', queue='plain'), float('nan'), ts))
    for s, v, t in out:
        print('%s\t%r\t%d' % (s, v, t))


def query(url, db, q):
    qs = urllib.parse.urlencode({'db': db, 'q': q, 'epoch': 'ms'})
    with urllib.request.urlopen(url.rstrip('/') + '/query?' + qs, timeout=10) as r:
        return json.load(r)


def verify(url, db, extra):
    want = {}
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line:
            continue
        name, value, ts = line.split('\t')
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            continue  # line protocol cannot carry it: must not arrive
        metric, labels = parse_series(name)
        labels = {k: v2 for k, v2 in labels.items() if v2}
        tags = dict(extra)
        tags.update(labels)
        want[(metric, tuple(sorted(tags.items())), int(ts))] = v
    got = {}
    answer = query(url, db, 'SELECT * FROM /.*/ GROUP BY *')
    for res in answer.get('results', []):
        if 'error' in res:
            print('query error: %s' % res['error'])
            return 1
        for s in res.get('series', []):
            tags = tuple(sorted((k, v) for k, v in s.get('tags', {}).items() if v))
            cols = s['columns']
            for row in s['values']:
                rec = dict(zip(cols, row))
                got[(s['name'], tags, rec['time'])] = rec['value']
    bad = 0
    for k, v in want.items():
        if k not in got:
            bad += 1
            if bad <= 10:
                print('missing: %s %s %d = %r' % (k[0], dict(k[1]), k[2], v))
        elif got[k] != v or math.copysign(1, got[k]) != math.copysign(1, v) and v != 0:
            bad += 1
            if bad <= 10:
                print('wrong value: %s %s %d: want %r got %r' % (k[0], dict(k[1]), k[2], v, got[k]))
    for k in got:
        if k not in want:
            bad += 1
            if bad <= 10:
                print('unexpected: %s %s %d = %r' % (k[0], dict(k[1]), k[2], got[k]))
    if bad:
        print('%d differences; %d points wanted, %d found' % (bad, len(want), len(got)))
        return 1
    print('ok %d' % len(want))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == 'gen':
        gen(int(argv[2]), int(argv[3]))
        return 0
    if len(argv) >= 4 and argv[1] == 'verify':
        extra = dict(a.split('=', 1) for a in argv[4:])
        return verify(argv[2], argv[3], extra)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
