"""The demo's publication set-up gives the next send something to show for every outcome."""
from backoffice.demo import build
from backoffice.extensions import db
from models.publication import Medium, compute_decision_set
from models.send_decision import OUTCOMES, counts_by_list, counts_by_medium


def test_demo_media_lists_and_configs_show_every_outcome():
    ctx = build(vehicles=150, with_photos=False, log=lambda *_: None)
    nord, sud = ctx.data["concessions"]["NORD"], ctx.data["concessions"]["SUD"]
    media = {m.code: m for m in db.session.query(Medium)}
    assert {"largus", "lacentrale", "leboncoin", "constructeur", "concession", "eden", "autoscout24",
            "marchands"} <= set(media)
    assert media["marchands"].destination == "trade"

    decisions = compute_decision_set(db.session, today=ctx.today)
    seen = {d.outcome for d in decisions}
    assert seen == set(OUTCOMES)
    codes = {d.customer_code for d in decisions}
    assert {"bm11c1", "bm11c2", "bm34c2"} <= codes

    nord_counts = counts_by_medium(compute_decision_set(db.session, [nord.id], today=ctx.today))
    largus = nord_counts[media["largus"].id]
    assert largus["sent"] == 6 and largus["limit_reached"] > 0 and largus["prioritised"] == 2
    assert nord_counts[media["concession"].id]["not_selected"] > 0  # manual selection
    # per-list limits of LaCentrale in the Sud: each list its own
    lists = ctx.data["publication_lists"]["SUD"]
    per_list = counts_by_list(compute_decision_set(db.session, [sud.id], today=ctx.today))
    sud_ouest = per_list[(media["lacentrale"].id, lists[1][0].id)]
    assert sud_ouest.to_send <= 12
