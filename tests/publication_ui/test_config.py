"""The "Configuration de la publication" screen: table figures, form validation, effect preview, save."""
import re

from backoffice.extensions import db
from models.publication import ListSubscription, MediumConfig

BASE = {"selection_mode": "auto", "limit_mode": "none", "ordering": "score"}


def _url(pub, medium=None, concession=None):
    medium = medium or pub.lbc
    return f"/publication/config/medium/{medium.id}/?concession={(concession or pub.network.nord).id}"


def _form(pub, **fields):
    data = dict(BASE)
    data[f"list_{pub.nord_list.id}_on"] = "y"
    data[f"list_{pub.nord_list.id}_code"] = "bm11c1"
    data.update(fields)
    return data


def _section(body, testid):
    m = re.search(rf'data-testid="{testid}">(.*?)</table>', body, re.S)
    assert m, testid
    return m.group(1)


def test_the_table_shows_lists_codes_and_eligible_in_stock_to_send(pub, login):
    body = login(pub.network.cdv_nord).get("/publication/config/").get_data(as_text=True)
    lbc, nord = pub.lbc.id, pub.nord_list.id
    assert "LeBonCoin Test" in body and "bm11c1" in body
    # 3 Nord vehicles are candidates; one lacks the gearbox: 2 eligible, 2 to send.
    assert re.search(rf'data-testid="eligible-{lbc}-{nord}">\s*2 / 3\s*<', body)
    assert re.search(rf'data-testid="to-send-{lbc}-{nord}">\s*2\s*<', body)
    assert "Responsable du site" in body


def test_preview_lists_who_leaves_under_a_new_limit_and_saves_nothing(pub, login):
    client = login(pub.network.cdv_nord)
    body = client.form(_url(pub), _form(pub, limit_mode="global", limit_value="1", preview="1")).get_data(as_text=True)
    assert 'data-testid="preview"' in body
    leaving = _section(body, "preview-leaving")
    assert "N200" in leaving and "RENAULT CLIO" in leaving and "limite atteinte" in leaving
    assert "N100" not in leaving
    assert "N100" not in _section(body, "preview-entering") and "N200" not in _section(body, "preview-entering")
    assert "2 aujourd" in body and "→ 1" in body
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.nord_config.id)
    assert (config.limit_mode, config.limit_value) == ("none", None)


def test_preview_lists_who_enters_when_a_filter_is_loosened(pub, login):
    pub.nord_config.filter_min_score = 8
    db.session.commit()
    client = login(pub.network.cdv_nord)
    body = client.form(_url(pub), _form(pub, filter_min_score="4", preview="1")).get_data(as_text=True)
    entering = _section(body, "preview-entering")
    assert "N200" in entering and "N100" not in entering
    db.session.expire_all()
    assert db.session.get(MediumConfig, pub.nord_config.id).filter_min_score == 8


def test_unsubscribing_the_list_shows_every_vehicle_leaving(pub, login):
    client = login(pub.network.cdv_nord)
    data = dict(BASE, preview="1")
    body = client.form(_url(pub), data).get_data(as_text=True)
    leaving = _section(body, "preview-leaving")
    assert "N100" in leaving and "N200" in leaving and "plus dans aucune liste" in leaving


def test_save_writes_the_configuration_and_the_subscription(pub, login):
    client = login(pub.network.cdv_nord)
    response = client.form(_url(pub), _form(pub, **{
        "limit_mode": "global", "limit_value": "1", "ordering": "price_desc", "selection_mode": "manual",
        f"list_{pub.nord_list.id}_code": "bm99z9", "filter_makes": "peugeot, renault", "filter_min_photos": "0",
        "filter_site_ids": [str(pub.network.gap.id)], "save": "1"}))
    assert response.status_code == 302
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.nord_config.id)
    assert (config.limit_mode, config.limit_value, config.ordering, config.selection_mode) == \
        ("global", 1, "price_desc", "manual")
    assert config.filter_makes == ["PEUGEOT", "RENAULT"] and config.filter_site_ids == [pub.network.gap.id]
    assert [s.customer_code for s in config.subscriptions] == ["bm99z9"]


def test_a_first_configuration_is_created_for_a_medium_without_one(pub, login):
    client = login(pub.network.cdv_sud)
    response = client.form(_url(pub, pub.site, pub.network.sud), {
        **BASE, f"list_{pub.sud_list.id}_on": "y", f"list_{pub.sud_list.id}_code": "", "save": "1"})
    assert response.status_code == 302
    config = db.session.query(MediumConfig).filter_by(concession_id=pub.network.sud.id, medium_id=pub.site.id).one()
    assert [s.publication_list_id for s in config.subscriptions] == [pub.sud_list.id]


def test_per_list_limits_are_saved_and_required(pub, login):
    client = login(pub.network.cdv_nord)
    body = client.form(_url(pub), _form(pub, limit_mode="per_list", save="1")).get_data(as_text=True)
    assert "Indiquez la limite de cette liste." in body
    response = client.form(_url(pub), _form(pub, limit_mode="per_list", save="1",
                                            **{f"list_{pub.nord_list.id}_limit": "5"}))
    assert response.status_code == 302
    db.session.expire_all()
    sub = db.session.query(ListSubscription).filter_by(config_id=pub.nord_config.id).one()
    assert sub.limit == 5


BAD_INPUTS = [
    ({"limit_mode": "global", "limit_value": ""}, "error-limit_value", "Indiquez le nombre maximum"),
    ({"limit_mode": "global", "limit_value": "-3"}, "error-limit_value", "positif ou nul"),
    ({"limit_mode": "global", "limit_value": "abc"}, "error-limit_value", ""),
    ({"filter_min_score": "11"}, "error-filter_min_score", "entre 0 et 10"),
    ({"filter_min_score": "douze"}, "error-filter_min_score", ""),
    ({"filter_min_sale_price": "20000", "filter_max_sale_price": "1000"}, "error-filter_max_sale_price",
     "supérieur ou égal au minimum"),
    ({"filter_min_sale_price": "-5"}, "error-filter_min_sale_price", "négatif"),
    ({"selection_mode": "sometimes"}, "error-selection_mode", ""),
    ({"ordering": "random"}, "error-ordering", ""),
    ({"filter_site_ids": ["999999"]}, "error-filter_site_ids", ""),
]


def test_bad_input_gets_a_message_next_to_the_field_and_saves_nothing(pub, login):
    client = login(pub.network.cdv_nord)
    for fields, testid, message in BAD_INPUTS:
        response = client.form(_url(pub), _form(pub, save="1", **fields))
        body = response.get_data(as_text=True)
        assert response.status_code == 200, fields
        assert f'data-testid="{testid}"' in body, fields
        assert message in body, fields
        assert "n&#39;a pas été enregistrée" in body or "n'a pas été enregistrée" in body
    bad_code = client.form(_url(pub), _form(pub, save="1", **{f"list_{pub.nord_list.id}_code": "bm 11<c1>"}))
    assert "Code invalide" in bad_code.get_data(as_text=True)
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.nord_config.id)
    assert (config.limit_mode, config.limit_value, config.filter_min_score, config.filter_min_sale_price,
            config.selection_mode, config.ordering) == ("none", None, None, None, "auto", "score")
    assert [s.customer_code for s in config.subscriptions] == ["bm11c1"]


def test_a_dealer_cannot_subscribe_another_concessions_list(pub, login):
    client = login(pub.network.cdv_nord)
    client.form(_url(pub), _form(pub, save="1", **{f"list_{pub.sud_list.id}_on": "y"}))
    db.session.expire_all()
    config = db.session.get(MediumConfig, pub.nord_config.id)
    assert [s.publication_list_id for s in config.subscriptions] == [pub.nord_list.id]


def test_only_admins_impose_the_selection(pub, login):
    client = login(pub.network.cdv_nord)
    client.form(_url(pub), _form(pub, admin_imposed_selection="y", save="1"))
    db.session.expire_all()
    assert db.session.get(MediumConfig, pub.nord_config.id).admin_imposed_selection is False
    admin = login(pub.network.admin)
    assert admin.form(_url(pub), _form(pub, admin_imposed_selection="y", save="1")).status_code == 302
    db.session.expire_all()
    assert db.session.get(MediumConfig, pub.nord_config.id).admin_imposed_selection is True


def test_an_inactive_or_unknown_medium_answers_404(pub, login):
    pub.site.active = False
    db.session.commit()
    client = login(pub.network.cdv_nord)
    assert client.get(_url(pub, pub.site)).status_code == 404
    assert client.get("/publication/config/medium/999999/").status_code == 404
    assert client.get("/publication/config/?concession=abc").status_code == 404


def test_the_configuration_screen_speaks_english_when_asked(pub, login):
    client = login(pub.network.cdv_nord)
    client.form("/lang/en", {"next": "/publication/config/"})
    body = client.get("/publication/config/").get_data(as_text=True)
    assert "Publication settings" in body and "Eligible vehicles / vehicles in stock" in body


def test_an_unreadable_number_gets_one_clear_message(pub, login):
    client = login(pub.network.cdv_nord)
    body = client.form(_url(pub), _form(pub, save="1", limit_mode="global", limit_value="abc",
                                        filter_min_sale_price="dix")).get_data(as_text=True)
    assert re.findall(r'data-testid="error-limit_value">([^<]*)<', body) == ["N&#39;est pas un entier valide."]
    assert re.findall(r'data-testid="error-filter_min_sale_price">([^<]*)<', body) == \
        ["N&#39;est pas une valeur décimale valide."]


def test_the_preview_gives_each_lists_count_before_and_after(pub, login):
    from models.publication import ListSubscription as Sub

    second = pub.nord_list.__class__(concession_id=pub.network.nord.id, name="Vitrine", codes="VI01",
                                     sites=[pub.network.dainville])
    db.session.add(second)
    db.session.commit()
    client = login(pub.network.cdv_nord)
    data = _form(pub, limit_mode="per_list", preview="1", **{
        f"list_{pub.nord_list.id}_limit": "1", f"list_{second.id}_on": "y", f"list_{second.id}_limit": "0"})
    body = client.form(_url(pub), data).get_data(as_text=True)
    per_list = re.search(r'data-testid="preview-per-list">(.*?)</p>', body, re.S).group(1)
    assert re.search(r"Concession du Nord : 2 → 1", per_list) and re.search(r"Vitrine : 0 → 0", per_list)
    assert db.session.query(Sub).filter_by(publication_list_id=second.id).count() == 0
