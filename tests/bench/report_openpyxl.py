#!/usr/bin/python3
"""The peer of `hmctl report sync-detail --format xlsx` in `make bench`: the same rows from the
same API JSON, written with openpyxl in write-only mode (its streaming mode).

usage: report_openpyxl.py --url URL --ca CA --from ISO --to ISO --tz ZONE --out FILE
                          [--page-size N] [--save DIR | --load DIR]
--save DIR also keeps every page's JSON in DIR; --load DIR reads the pages from DIR instead of
the API, which measures the conversion alone.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import ssl
import sys
import urllib.parse
import zoneinfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

HEAD = ["Host", "Host ID", "Job ID", "Start", "End", "Duration", "Mode", "Result", "Detail"]


def t(v):
    return dt.datetime.fromisoformat(v.replace("Z", "+00:00")) if v else None


def pages_from_api(args):
    u = urllib.parse.urlsplit(args.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=args.ca))
    conn.request("POST", u.path + "/users/token", json.dumps({"username": "admin", "password": "admin"}),
                 {"Content-Type": "application/json"})
    token = json.loads(conn.getresponse().read())["token"]
    page = 1
    while True:
        conn.request("GET", f"{u.path}/jobs?status=all&page={page}&page_size={args.page_size}",
                     headers={"X-AUTH-TOKEN": token})
        raw = conn.getresponse().read()
        if args.save:
            with open(os.path.join(args.save, f"{page:06d}.json"), "wb") as f:
                f.write(raw)
        ans = json.loads(raw)
        yield ans
        if not ans["data"] or page * args.page_size >= ans["total"]:
            return
        page += 1


def pages_from_dir(d):
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            yield json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--ca")
    ap.add_argument("--from", dest="frm", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--tz", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--page-size", type=int, default=5000)
    ap.add_argument("--save")
    ap.add_argument("--load")
    args = ap.parse_args()
    zone = zoneinfo.ZoneInfo(args.tz)
    frm, to = t(args.frm), t(args.to)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Report")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    row = []
    for h in HEAD:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        row.append(c)
    ws.append(row)
    n = 0
    pages = pages_from_dir(args.load) if args.load else pages_from_api(args)
    for ans in pages:
        data = ans["data"]
        starts = [t(j.get("start_at")) for j in data]
        for j, start in zip(data, starts):
            if j.get("job_type") != "Sync" or start is None or not frm <= start < to:
                continue
            end = t(j.get("end_at"))
            cells = [j.get("host"), j.get("source_id"), j.get("task_id")]
            for v in (start, end):
                c = WriteOnlyCell(ws, value=v.astimezone(zone).replace(tzinfo=None) if v else None)
                c.number_format = "yyyy-mm-dd hh:mm:ss"
                cells.append(c)
            c = WriteOnlyCell(ws, value=(end - start) if end and end >= start else None)
            c.number_format = "[h]:mm:ss"
            cells += [c, j.get("sync_mode"), j.get("job_status"), j.get("detail")]
            ws.append(cells)
            n += 1
        if not data or all(s is not None and s < frm for s in starts):
            break
    ws.auto_filter.ref = f"A1:I{n + 1}"
    params = wb.create_sheet("Parameters")
    for k, v in (("Report type", "sync-detail"), ("From", args.frm), ("To", args.to), ("Time zone", args.tz)):
        params.append([k, v])
    wb.save(args.out)
    print(f"{n} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
