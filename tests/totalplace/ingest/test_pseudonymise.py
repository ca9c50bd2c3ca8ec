"""Identifiers are replaced in the COPY stream: the match key survives messy names, postcodes become
LSOAs, dates of birth become years, and a row that cannot be read leaks nothing."""

from __future__ import annotations

from totalplace.contracts import get_contract
from totalplace.ingest.pseudonymise import load_postcode_lookup, normal_name, pseudonym, row_transform

KEY = b"k" * 64
TARGETS = ["crime_reference", "offender_key", "forename", "surname", "year_of_birth", "home_lsoa_code",
           "offence_date", "offence_type", "offence_lsoa_code", "outcome"]


def offences(settings):
    return get_contract(settings.feeds_dir, "police", "offences")


def test_names_dates_and_postcodes_are_replaced_and_the_match_key_survives_mess(settings):
    postcodes = load_postcode_lookup(settings.postcode_lookup_file)
    code, lsoa = next(iter(postcodes.items()))
    spaced = f"{code[:-3]} {code[-3:]}"
    transform, appended = row_transform(offences(settings), TARGETS, KEY, postcodes)
    assert appended == ["match_key"]
    tidy = transform(["CR/1", "PNC1", "Seán", "O'Brien", "03/05/1998", spaced, "25/05/2021", "Robbery", lsoa, ""])
    messy = transform(["CR/2", " pnc1 ", " SEAN ", "OBRIEN", "03/05/1998", code.lower(), "25/05/2021", "Robbery",
                       lsoa, ""])
    # names blanked, the year of birth kept, the postcode replaced by its LSOA
    assert tidy[2:6] == ["", "", "1998", lsoa] == messy[2:6]
    # the same person, however the system wrote them: one offender pseudonym, one match key
    assert tidy[1] == messy[1] == pseudonym(KEY, "PNC1")
    assert tidy[-1] == messy[-1] == pseudonym(KEY, f"SEAN|OBRIEN|1998-05-03|{code}")
    assert normal_name("Zoë  Smith-Jones") == "ZOESMITHJONES"
    # another date of birth is another person
    other = transform(["CR/3", "PNC1", "Sean", "OBrien", "04/05/1998", code, "25/05/2021", "Robbery", lsoa, ""])
    assert other[-1] != tidy[-1]


def test_missing_parts_give_no_match_key_and_unknown_postcodes_no_lsoa(settings):
    postcodes = load_postcode_lookup(settings.postcode_lookup_file)
    transform, _ = row_transform(offences(settings), TARGETS, KEY, postcodes)
    row = transform(["CR/1", "PNC1", "", "Smith", "1998-05-03", "SW1A 1AA", "25/05/2021", "Robbery", "", ""])
    assert row[5] == "" and row[-1] == ""  # a real postcode outside the lookup: no LSOA, never the postcode
    assert row[4] == "1998"


def test_a_ragged_row_is_blanked_so_no_identifier_reaches_the_server(settings):
    transform, _ = row_transform(offences(settings), TARGETS, KEY, {})
    leaked = transform(["CR/1", "PNC1", "Jo", "Bloggs", "03/05/1998", "QA1 1AA"])
    assert leaked == [""] * (len(TARGETS) + 2)  # blank, and one cell too many for COPY to take
    assert transform([""] * (len(TARGETS) + 1)) == [""] * (len(TARGETS) + 2)
