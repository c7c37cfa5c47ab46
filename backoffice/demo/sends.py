"""A first send of the demo stock, so that the dashboards, bilans and PDFs have a real history.

Skipped for scale runs (benchmarks measure sends themselves).
"""
from jobs.send import start_send


def seed(ctx):
    if ctx.vehicles > 2000:
        return
    run_id = start_send(kind="nightly", today=ctx.today)
    ctx.data["send_run_id"] = run_id
