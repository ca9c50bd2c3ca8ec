"""Feed contracts: every committed contract loads, a bad one fails with a clear message, headers match loosely."""

from __future__ import annotations

import pytest
import yaml

from connectors.header import match_header, read_header
from totalplace.contracts import ContractError, load_contract, load_contracts
from totalplace.dbt_sources import source_paths
from totalplace.settings import PROJECT_ROOT

FEEDS = PROJECT_ROOT / "feeds"


def test_every_committed_contract_loads():
    contracts = load_contracts(FEEDS)
    assert {"police__street_crime", "reference__ons_lsoa_lookup", "reference__ons_lsoa_population"} <= set(contracts)


def test_generated_dbt_sources_match_the_contracts():
    for path, text in source_paths(PROJECT_ROOT / "dbt_project", load_contracts(FEEDS)).items():
        assert path.exists(), f"{path} missing: run `totalplace generate`"
        assert path.read_text() == text, f"{path} is stale: run `totalplace generate`"


def write_contract(tmp_path, data, agency="police", feed="street_crime"):
    path = tmp_path / agency / f"{feed}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["columns"][1].update(type="datetime"), "columns.1.type"),
        (lambda d: d["columns"][0].update(name="Crime ID"), "snake_case"),
        (lambda d: d["columns"].append(dict(d["columns"][0])), "duplicate column names"),
        (lambda d: d.update(place_key={"column": "nope", "level": "lsoa"}), "key column 'nope'"),
        (lambda d: d["columns"][1].update(min=0), "min/max need type integer or number"),
        (lambda d: d["columns"][2].update(suppression_markers=[".."]), "suppression_markers need type"),
        (lambda d: d["columns"][1].update(type="date", formats=["MM/DD/YYYY"]), "unknown date formats"),
        (lambda d: d.pop("owner"), "owner"),
        (lambda d: d.update(colums=[]), "colums"),
    ],
)
def test_a_bad_contract_fails_with_the_field_named(tmp_path, change, message):
    data = yaml.safe_load((FEEDS / "police" / "street_crime.yml").read_text())
    change(data)
    with pytest.raises(ContractError) as caught:
        load_contract(write_contract(tmp_path, data))
    assert message in str(caught.value)
    assert "street_crime.yml" in str(caught.value)


def test_contract_must_live_where_it_says(tmp_path):
    data = yaml.safe_load((FEEDS / "police" / "street_crime.yml").read_text())
    with pytest.raises(ContractError, match="lives at nhs/street_crime"):
        load_contract(write_contract(tmp_path, data, agency="nhs"))


def test_headers_match_case_and_whitespace_insensitively_and_keep_unknowns(tmp_path):
    contract = load_contract(FEEDS / "police" / "street_crime.yml")
    f = tmp_path / "h.csv"
    f.write_bytes("\ufeff  crime id ,MONTH,Reported  by,Falls within,Longitude,Latitude,Location,lsoa code,"
                  "LSOA name,Crime type,Last outcome category,Beat\r\n".encode())
    match = match_header(read_header(f).cells, contract)
    assert match.ok
    assert match.targets[:3] == ["crime_id", "month", "reported_by"]
    assert match.unknown == {"_extra_12": "Beat"}
    assert match.absent_optional == ["Context"]
    assert match.header_of("crime_id") == "  crime id "


def test_missing_and_duplicate_headers_are_reported(tmp_path):
    contract = load_contract(FEEDS / "police" / "street_crime.yml")
    f = tmp_path / "h.csv"
    f.write_text("Crime ID,Month,Month,Reported by\n")
    match = match_header(read_header(f).cells, contract)
    assert not match.ok
    assert match.duplicates == ["Month"]
    assert "Falls within" in match.missing and "Context" not in match.missing


def test_partners_file_names_a_sender_for_every_feed_and_only_known_feeds(settings):
    from totalplace.partners import load_partners

    partners = load_partners(settings.partners_file, settings.feeds_dir)  # raises on any mismatch
    assert partners.body_for("police", "street_crime", "city_of_london_police") == "City of London Police"
    assert partners.body_for("council", "spend_over_500", "leeds") == "Leeds City Council"
    with pytest.raises(ContractError, match="say which account"):  # several councils send it: never guessed
        partners.body_for("council", "spend_over_500")
    assert partners.body_for("nhs", "gp_practices") == "Anytown Integrated Care Board"  # one sender
    # agency types come from the registry; no account is an agency type's or a platform role's name
    assert set(partners.agency_types) == {"police", "nhs", "housing", "council"}
    assert not set(partners.accounts) & {*partners.agency_types, "loader", "transformer", "analyst", "partner"}


def test_adding_a_council_is_one_registry_entry(settings, tmp_path):
    """A new council in partners.yml (and named in an agreement) gets an SFTP home with its feeds'
    folders, a database role in the council role with its own rows only, and a DAG tag - nothing else
    is edited."""
    import yaml

    from totalplace import access, sftp_server
    from totalplace.partners import check_registry, registry
    from totalplace.warehouse import bootstrap, connect

    doc = yaml.safe_load(settings.partners_file.read_text())
    doc["partners"].append({"body": "Kent County Council", "agency_type": "council", "account": "kent",
                            "feeds": ["spend_over_500"]})
    (tmp_path / "partners.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    kent = settings.model_copy(update={"partners_file": tmp_path / "partners.yml"})
    check_registry(kent)  # the test agreements cover every body ("*")
    assert "kent" in registry(kent).accounts and access.grantable(kent)[-1] == "kent"
    assert (sftp_server.ensure_accounts(kent)).keys() >= {"kent", "leeds"}
    assert (kent.sftp_root / "kent" / "inbox" / "spend_over_500").is_dir()
    bootstrap(kent.warehouse_url, kent)
    with connect(kent.warehouse_url) as conn:
        assert conn.execute("select pg_has_role('kent', 'council', 'member') and not pg_has_role('kent', 'leeds', "
                            "'member')").fetchone()[0]
        assert conn.execute("select agency from ops.partner_bodies where role_name = 'kent'").fetchone() == ("council",)


@pytest.mark.parametrize(("change", "error"), [
    ({"account": "council"}, "agency-type role"),
    ({"account": "leeds"}, "given to both"),
    ({"account": "Kent CC"}, "lower-case"),
    ({"feeds": ["spend_over_5000"]}, "has no contract"),
])
def test_a_registry_that_does_not_match_stops_up(settings, tmp_path, change, error):
    import yaml

    from totalplace.partners import check_registry

    doc = yaml.safe_load(settings.partners_file.read_text())
    doc["partners"].append({"body": "Kent County Council", "agency_type": "council", "account": "kent",
                            "feeds": ["spend_over_500"], **change})
    (tmp_path / "partners.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(ContractError, match=error):
        check_registry(settings.model_copy(update={"partners_file": tmp_path / "partners.yml"}))


def test_a_body_no_agreement_covers_stops_up(settings, tmp_path):
    import yaml

    from totalplace.partners import check_registry
    from totalplace.settings import PROJECT_ROOT

    doc = yaml.safe_load(settings.partners_file.read_text())
    doc["partners"].append({"body": "Kent County Council", "agency_type": "council", "account": "kent",
                            "feeds": ["spend_over_500"]})
    (tmp_path / "partners.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    real = settings.model_copy(update={"partners_file": tmp_path / "partners.yml",
                                       "agreements_file": PROJECT_ROOT / "agreements.yml"})
    with pytest.raises(ContractError, match="no agreement covers Kent County Council"):
        check_registry(real)
