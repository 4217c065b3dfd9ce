#!/usr/bin/python3
"""Computes what a report must hold straight from the console API's raw JSON, then compares it
with a report file that hmctl wrote (CSV, XLSX, JSON or HTML).

This is the tests' own reading of the report rules in hmctl-report(1), written against the API
(console-api.md) without any hmctl code, so the two can disagree and the test then fails.

usage: report_check.py --url URL --ca CA --type TYPE --file FMT:FILE [--file FMT:FILE ...]
                       --from ISO --to ISO --now ISO --tz ZONE [--lang en|zh] [--hosts a,b]
                       [--bom] [--min-rows N]
       report_check.py --url URL --ca CA --dump-jobs [--from ISO]   (raw jobs, newest first)
Exit 0 when the file matches, 1 with the differences on stderr.
"""
import argparse
import csv
import datetime as dt
import html.parser
import io
import json
import ssl
import sys
import urllib.request
import zoneinfo

KINDS = {"Sync": "sync", "Drill": "drill", "BootTest": "drill",
         "Takeover": "takeover", "BootFormal": "takeover"}

# (key, English title, Chinese title, type) per report type
COLS = {
    "host-summary": [
        ("host", "Host", "主机名称", "text"), ("host_id", "Host ID", "主机ID", "text"),
        ("os", "OS", "操作系统", "text"), ("source_type", "Source type", "源端类型", "text"),
        ("ip_address", "IP address", "IP地址", "text"),
        ("registration", "Registration", "注册状态", "text"),
        ("host_status", "Host status", "主机状态", "text"),
        ("health", "Health", "健康状态", "text"), ("gateway", "Gateway", "云同步网关", "text"),
        ("registered_at", "Registered at", "注册时间", "time"),
        ("syncs", "Syncs", "同步次数", "int"), ("syncs_failed", "Syncs failed", "同步失败次数", "int"),
        ("drills", "Drills", "演练次数", "int"),
        ("drills_failed", "Drills failed", "演练失败次数", "int"),
        ("takeovers", "Takeovers", "接管次数", "int"),
        ("takeovers_failed", "Takeovers failed", "接管失败次数", "int"),
        ("last_sync_at", "Last sync", "最近同步时间", "time"),
        ("last_sync_result", "Last sync result", "最近同步结果", "text"),
        ("last_snapshot_at", "Last snapshot", "最近快照时间", "time"),
        ("snapshot_age", "Snapshot age (RPO)", "快照时长 (RPO)", "duration"),
    ],
    "sync-detail": [
        ("host", "Host", "主机名称", "text"), ("host_id", "Host ID", "主机ID", "text"),
        ("job_id", "Job ID", "任务ID", "text"), ("start_at", "Start", "开始时间", "time"),
        ("end_at", "End", "结束时间", "time"), ("duration", "Duration", "耗时", "duration"),
        ("mode", "Mode", "同步模式", "text"), ("result", "Result", "结果", "text"),
        ("detail", "Detail", "详情", "text"),
    ],
    "drill-detail": [
        ("host", "Host", "主机名称", "text"), ("host_id", "Host ID", "主机ID", "text"),
        ("job_id", "Job ID", "任务ID", "text"), ("job_type", "Job type", "任务类型", "text"),
        ("snapshot_at", "Snapshot time", "快照时间", "time"),
        ("start_at", "Start", "开始时间", "time"), ("end_at", "End", "结束时间", "time"),
        ("rto", "Duration (RTO)", "耗时 (RTO)", "duration"), ("rpo", "RPO", "RPO", "duration"),
        ("result", "Result", "结果", "text"), ("detail", "Detail", "详情", "text"),
    ],
    "daily-summary": [
        ("date", "Date", "日期", "date"),
        ("hosts_protected", "Hosts protected", "受保护主机数", "int"),
        ("syncs_ok", "Syncs ok", "同步成功", "int"), ("syncs_failed", "Syncs failed", "同步失败", "int"),
        ("drills_ok", "Drills ok", "演练成功", "int"),
        ("drills_failed", "Drills failed", "演练失败", "int"),
        ("takeovers_ok", "Takeovers ok", "接管成功", "int"),
        ("takeovers_failed", "Takeovers failed", "接管失败", "int"),
        ("success_rate", "Success rate", "成功率", "percent"),
    ],
    "gateway-summary": [
        ("gateway", "Gateway", "网关名称", "text"), ("gateway_id", "Gateway ID", "网关ID", "text"),
        ("cloud_type", "Cloud type", "云类型", "text"), ("region", "Region", "区域", "text"),
        ("status", "Status", "状态", "text"), ("online", "Online", "在线", "text"),
        ("capacity_total_gib", "Capacity total (GiB)", "总容量 (GiB)", "num"),
        ("capacity_used_gib", "Capacity used (GiB)", "已用容量 (GiB)", "num"),
        ("used_percent", "Used", "使用率", "percent"), ("pools", "Pools", "存储池数", "int"),
        ("volumes", "Volumes", "卷数", "int"),
    ],
    "gateway-detail": [
        ("gateway", "Gateway", "网关名称", "text"), ("gateway_id", "Gateway ID", "网关ID", "text"),
        ("volume", "Volume", "卷名称", "text"), ("volume_id", "Volume ID", "卷ID", "text"),
        ("host", "Host", "主机名称", "text"), ("capacity_gib", "Capacity (GiB)", "容量 (GiB)", "num"),
        ("status", "Status", "状态", "text"), ("attach_status", "Attach status", "挂载状态", "text"),
        ("pool", "Pool", "存储池", "text"), ("pool_id", "Pool ID", "存储池ID", "text"),
    ],
}
COLS["takeover-detail"] = COLS["drill-detail"]


class Api:
    def __init__(self, url, ca):
        self.url = url
        self.ctx = ssl.create_default_context(cafile=ca)
        body = json.dumps({"username": "admin", "password": "admin"}).encode()
        req = urllib.request.Request(url + "/users/token", data=body,
                                     headers={"Content-Type": "application/json"})
        self.token = json.load(urllib.request.urlopen(req, context=self.ctx))["token"]

    def get(self, path):
        req = urllib.request.Request(self.url + path, headers={"X-AUTH-TOKEN": self.token})
        return json.load(urllib.request.urlopen(req, context=self.ctx))

    def paged(self, path, since=None):
        """Every page; with since (jobs, newest first), stop after a page that started before."""
        out, page = [], 1
        while True:
            sep = "&" if "?" in path else "?"
            ans = self.get(f"{path}{sep}page={page}&page_size=1000")
            out += ans["data"]
            if not ans["data"] or page * 1000 >= ans["total"]:
                return out
            if since and all(t(j.get("start_at")) and t(j["start_at"]) < since for j in ans["data"]):
                return out
            page += 1


def s(v):
    """A string field as the report shows it: null, "" and "None" mean no value."""
    if v is None or v == "" or v == "None":
        return None
    return str(v)


def t(v):
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if s(v) else None


def secs(a, b):
    if a is None or b is None or b < a:
        return None
    return int((b - a).total_seconds())


class Expect:
    def __init__(self, args):
        self.a = args
        self.zone = zoneinfo.ZoneInfo(args.tz)
        self.frm, self.to, self.now = t(args.frm), t(args.to), t(args.now)
        self.hosts = [h for h in (args.hosts or "").replace(" ", ",").split(",") if h]
        self.api = Api(args.url, args.ca)

    def wanted(self, name, hid):
        return not self.hosts or name in self.hosts or hid in self.hosts

    def in_range(self, start):
        return start is not None and self.frm <= start < self.to

    def jobs(self, whole=False):
        js = self.api.paged("/jobs?status=all", None if whole else self.frm)
        for j in js:
            j["_start"], j["_end"] = t(j.get("start_at")), t(j.get("end_at"))
            j["_kind"] = KINDS.get(j.get("job_type"))
        return js

    def rows(self):
        return getattr(self, self.a.type.replace("-", "_"))()

    def sync_detail(self):
        return [{"host": s(j["host"]), "host_id": s(j["source_id"]), "job_id": s(j["task_id"]),
                 "start_at": j["_start"], "end_at": j["_end"], "duration": secs(j["_start"], j["_end"]),
                 "mode": s(j.get("sync_mode")), "result": s(j["job_status"]), "detail": s(j.get("detail"))}
                for j in self.jobs()
                if j["_kind"] == "sync" and self.in_range(j["_start"]) and self.wanted(j["host"], j["source_id"])]

    def boot_detail(self, kind):
        js = self.jobs(whole=True)
        done = {}
        for x in js:
            if x["_kind"] == "sync" and x["job_status"] == "done" and x["_end"]:
                done.setdefault(x["source_id"], []).append(x)
        rows = []
        for j in js:
            if j["_kind"] != kind or not self.in_range(j["_start"]) or not self.wanted(j["host"], j["source_id"]):
                continue
            # the recovery point: the end of the latest-started successful sync of the host
            # that had ended by the job's start
            syncs = [x for x in done.get(j["source_id"], []) if x["_end"] <= j["_start"]]
            snap = max(syncs, key=lambda x: x["_start"])["_end"] if syncs else None
            rows.append({"host": s(j["host"]), "host_id": s(j["source_id"]), "job_id": s(j["task_id"]),
                         "job_type": s(j["job_type"]), "snapshot_at": snap, "start_at": j["_start"],
                         "end_at": j["_end"], "rto": secs(j["_start"], j["_end"]), "rpo": secs(snap, j["_start"]),
                         "result": s(j["job_status"]), "detail": s(j.get("detail"))})
        return rows

    def drill_detail(self):
        return self.boot_detail("drill")

    def takeover_detail(self):
        return self.boot_detail("takeover")

    def host_summary(self):
        hosts = self.api.paged("/hosts")
        stats = {h["id"]: {"n": {k: [0, 0] for k in ("sync", "drill", "takeover")}, "last": None}
                 for h in hosts}
        for j in self.jobs():
            if j["_kind"] and self.in_range(j["_start"]):
                st = stats.setdefault(j["source_id"], {"n": {k: [0, 0] for k in ("sync", "drill", "takeover")},
                                                       "last": None, "job_only": j})
                st["n"][j["_kind"]][0] += 1
                st["n"][j["_kind"]][1] += j["job_status"] == "failed"
                if j["_kind"] == "sync" and (st["last"] is None or j["_start"] > st["last"]["_start"]):
                    st["last"] = j
        rows = []
        known = {h["id"] for h in hosts}
        for hid, st in stats.items():
            if hid not in known:  # a host the console no longer lists
                hosts.append({"id": hid, "host_name": st["job_only"]["host"], "h_host_status": None})
        for h in hosts:
            st = stats[h["id"]]
            status = s(h.get("h_host_status"))
            reg = ("unregistered" if status in ("host_unregister_done", None) else
                   "unregistering" if status == "host_unregister_doing" else "registered")
            snap = t(h.get("last_snapshots_at"))
            last = st["last"]
            rows.append({"host": s(h["host_name"]), "host_id": s(h["id"]), "os": s(h.get("system_type")),
                         "source_type": s(h.get("host_type")), "ip_address": s(h.get("ip_address")),
                         "registration": reg, "host_status": status, "health": s(h.get("h_health_status")),
                         "gateway": s(h.get("target_name")), "registered_at": t(h.get("created_at")),
                         "syncs": st["n"]["sync"][0], "syncs_failed": st["n"]["sync"][1],
                         "drills": st["n"]["drill"][0], "drills_failed": st["n"]["drill"][1],
                         "takeovers": st["n"]["takeover"][0], "takeovers_failed": st["n"]["takeover"][1],
                         "last_sync_at": last["_start"] if last else None,
                         "last_sync_result": s(last["job_status"]) if last else None,
                         "last_snapshot_at": snap, "snapshot_age": secs(snap, self.now)})
        rows = [r for r in rows if self.wanted(r["host"], r["host_id"])]
        return sorted(rows, key=lambda r: (r["host"] or "", r["host_id"] or ""))

    def daily_summary(self):
        first = self.frm.astimezone(self.zone).date()
        last = (self.to - dt.timedelta(milliseconds=1)).astimezone(self.zone).date()
        days = {}
        d = first
        while d <= last:
            days[d] = {"n": [0] * 6, "hosts": set()}
            d += dt.timedelta(days=1)
        order = ["sync", "drill", "takeover"]
        for j in self.jobs():
            if (not j["_kind"] or not self.in_range(j["_start"]) or j["job_status"] not in ("done", "failed")
                    or not self.wanted(j["host"], j["source_id"])):
                continue
            day = days[j["_start"].astimezone(self.zone).date()]
            ok = j["job_status"] == "done"
            day["n"][2 * order.index(j["_kind"]) + (0 if ok else 1)] += 1
            if ok and j["_kind"] == "sync":
                day["hosts"].add(j["source_id"])
        rows = []
        for d, v in days.items():
            n = v["n"]
            ok, bad = n[0] + n[2] + n[4], n[1] + n[3] + n[5]
            rows.append({"date": d, "hosts_protected": len(v["hosts"]), "syncs_ok": n[0], "syncs_failed": n[1],
                         "drills_ok": n[2], "drills_failed": n[3], "takeovers_ok": n[4],
                         "takeovers_failed": n[5], "success_rate": 100.0 * ok / (ok + bad) if ok + bad else None})
        return rows

    def targets(self):
        ts = [self.api.get("/targets/" + x["uuid"]) for x in self.api.get("/targets")["targets"]["data"]]
        return sorted(ts, key=lambda x: (x["target_display_name"], x["uuid"]))

    def gateway_summary(self):
        rows = []
        for g in self.targets():
            st = g.get("Storage", {}).get("data", {})
            total, used = st.get("total_size", 0), st.get("used_size", 0)
            rows.append({"gateway": g["target_display_name"], "gateway_id": g["uuid"],
                         "cloud_type": s(g.get("cloud_type")), "region": s(st.get("region")),
                         "status": s(g.get("target_status")),
                         "online": None if g.get("online") is None else ("yes" if g["online"] else "no"),
                         "capacity_total_gib": total, "capacity_used_gib": used,
                         "used_percent": 100.0 * used / total if total > 0 else None,
                         "pools": len(g["storage_pools"]["data"]), "volumes": len(g["volumes"]["data"])})
        return rows

    def gateway_detail(self):
        rows = []
        for g in self.targets():
            pools = {p["uuid"]: p["name"] for p in g["storage_pools"]["data"]}
            for v in g["volumes"]["data"]:
                host = v.get("connector:host", (v.get("connector") or {}).get("host"))
                pool = v.get("source:pool_uuid", (v.get("source") or {}).get("pool_uuid"))
                if not self.wanted(host, None):
                    continue
                rows.append({"gateway": g["target_display_name"], "gateway_id": g["uuid"],
                             "volume": s(v["name"]), "volume_id": s(v["uuid"]), "host": s(host),
                             "capacity_gib": v["capacity"], "status": s(v.get("status")),
                             "attach_status": s(v.get("attach_status")), "pool": pools.get(pool),
                             "pool_id": s(pool)})
        return rows


# --- the forms each format writes --------------------------------------------------------------

def num_text(v):
    if float(v) == int(v):
        return str(int(v))
    return ("%.6f" % v).rstrip("0").rstrip(".")


def machine_text(kind, v, zone):
    """CSV: times with their offset, durations in seconds, percentages with one decimal."""
    if v is None:
        return ""
    if kind == "time":
        return v.astimezone(zone).isoformat()
    if kind == "date":
        return v.isoformat()
    if kind == "percent":
        return "%.1f" % v
    if kind == "num":
        return num_text(v)
    return str(v)


def json_value(kind, v, zone):
    if v is None:
        return None
    if kind in ("time", "date"):
        return machine_text(kind, v, zone)
    if kind == "percent":
        return float("%.1f" % v)
    return v


def human_duration(s):
    d, h, m, sec = s // 86400, s // 3600 % 24, s // 60 % 60, s % 60
    if d:
        return f"{d}d {h}h {m}m"
    if h:
        return f"{h}h {m}m {sec}s"
    if m:
        return f"{m}m {sec}s"
    return f"{sec}s"


def html_text(kind, v, zone):
    if v is None:
        return "-"
    if kind == "time":
        x = v.astimezone(zone)
        off = x.isoformat()[-6:]
        return x.strftime("%Y-%m-%d %H:%M:%S ") + off
    if kind == "duration":
        return human_duration(v)
    if kind == "percent":
        return "%.1f%%" % v
    return machine_text(kind, v, zone)


def xlsx_value(kind, v, zone):
    if v is None or v == "":
        return None
    if kind == "time":
        return v.astimezone(zone).replace(tzinfo=None)
    if kind == "date":
        return dt.datetime(v.year, v.month, v.day)
    if kind == "duration":
        return dt.timedelta(seconds=v)
    if kind == "percent":
        return v / 100.0
    return v


def same_xlsx(kind, got, want):
    if want is None or got is None:
        return got == want
    if kind in ("time", "date"):
        return isinstance(got, dt.datetime) and abs((got - want).total_seconds()) < 0.002
    if kind == "duration":
        return isinstance(got, dt.timedelta) and abs((got - want).total_seconds()) < 0.002
    if kind in ("percent", "num"):
        return abs(float(got) - float(want)) < 1e-9
    return got == want


class Tables(html.parser.HTMLParser):
    """The <th> and <td> texts of table.data, and every src/href attribute seen."""

    def __init__(self):
        super().__init__()
        self.inside, self.body, self.head, self.rows, self.cell, self.refs = False, False, [], [], None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.refs += [v for k, v in attrs if k in ("src", "href")]
        if tag == "table" and a.get("class") == "data":
            self.inside = True
        elif self.inside and tag == "tbody":
            self.body = True
        elif self.inside and self.body and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = self.body = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            (self.head if tag == "th" else self.rows[-1]).append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def check(args):
    exp = Expect(args)
    want = exp.rows()
    if len(want) < args.min_rows:
        print(f"the API gives {len(want)} {args.type} rows, fewer than the test needs ({args.min_rows})",
              file=sys.stderr)
        return 1
    rc = 0
    for spec in args.file:
        fmt, _, path = spec.partition(":")
        rc |= check_file(args, exp, want, fmt, path)
    return rc


def check_file(args, exp, want, fmt, path):
    cols = COLS[args.type]
    keys = [c[0] for c in cols]
    titles = [c[2] if args.lang == "zh" else c[1] for c in cols]
    errs = []

    def cmp_rows(got_rows, conv, same=lambda k, g, w: g == w):
        if len(got_rows) != len(want):
            errs.append(f"{len(got_rows)} rows, expected {len(want)}")
        for i, (g, w) in enumerate(zip(got_rows, want)):
            if len(g) != len(cols):
                errs.append(f"row {i + 1} has {len(g)} cells, expected {len(cols)}")
                continue
            for k, (key, _, _, kind) in enumerate(cols):
                wv = conv(kind, w[key], exp.zone)
                if not same(kind, g[k], wv):
                    errs.append(f"row {i + 1} {key}: got {g[k]!r}, expected {wv!r}")
            if len(errs) > 20:
                break

    if fmt == "csv":
        raw = open(path, "rb").read()
        if args.bom != raw.startswith(b"\xef\xbb\xbf"):
            errs.append("byte order mark " + ("missing" if args.bom else "unexpected"))
        if raw and not raw.endswith(b"\r\n"):
            errs.append("records do not end with CRLF")
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        if not table or table[0] != titles:
            errs.append(f"header {table[:1]}, expected {titles}")
        cmp_rows(table[1:], machine_text)
    elif fmt == "json":
        doc = json.load(open(path, encoding="utf-8"))
        if [c["key"] for c in doc["columns"]] != keys or [c["title"] for c in doc["columns"]] != titles:
            errs.append(f"columns {doc['columns']}")
        if doc["report"]["type"] != args.type or doc["report"]["time_zone"] != args.tz:
            errs.append(f"parameters {doc['report']}")
        for r in doc["rows"]:
            if list(r) != keys:
                errs.append(f"row keys {list(r)}")
                break
        if doc["summary"]["rows"] != len(doc["rows"]):
            errs.append("summary.rows is not the row count")
        cmp_rows([[r[k] for k in keys] for r in doc["rows"]], json_value,
                 lambda k, g, w: (abs(g - w) < 1e-9) if k == "num" and g is not None and w is not None else g == w)
    elif fmt == "xlsx":
        import openpyxl
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        table = list(ws.iter_rows(values_only=True))
        if not table or list(table[0]) != titles:
            errs.append(f"header {table[:1]}, expected {titles}")
        if ws.freeze_panes != "A2":
            errs.append(f"freeze panes {ws.freeze_panes}, expected A2")
        if not ws.auto_filter.ref:
            errs.append("no autofilter")
        if len(wb.worksheets) != 2:
            errs.append(f"sheets {wb.sheetnames}, expected the report and its parameters")
        elif not any(r and r[1] == args.type for r in wb.worksheets[1].iter_rows(values_only=True)):
            errs.append("the parameters sheet does not name the type")
        cmp_rows([list(r) for r in table[1:]], xlsx_value, same_xlsx)
    elif fmt == "html":
        text = open(path, encoding="utf-8").read()
        p = Tables()
        p.feed(text)
        if p.refs:
            errs.append(f"external references {p.refs[:5]}")
        if "@import" in text or "url(" in text:
            errs.append("@import or url() in the style")
        if p.head != titles:
            errs.append(f"header {p.head}, expected {titles}")
        cmp_rows(p.rows, html_text)
    else:
        errs.append(f"unknown format '{fmt}'")
    if errs:
        print(f"{path}: {args.type} {fmt} differs from the API:", file=sys.stderr)
        for e in errs[:25]:
            print("  " + e, file=sys.stderr)
        return 1
    print(f"{args.type} {fmt}: {len(want)} rows match")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--dump-jobs", action="store_true")
    ap.add_argument("--type")
    ap.add_argument("--file", action="append", default=[], help="FORMAT:PATH")
    ap.add_argument("--min-rows", type=int, default=0)
    ap.add_argument("--from", dest="frm")
    ap.add_argument("--to")
    ap.add_argument("--now")
    ap.add_argument("--tz", default="UTC")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--hosts")
    ap.add_argument("--bom", action="store_true")
    args = ap.parse_args()
    if args.dump_jobs:
        json.dump(Api(args.url, args.ca).paged("/jobs?status=all", t(args.frm)), sys.stdout)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
