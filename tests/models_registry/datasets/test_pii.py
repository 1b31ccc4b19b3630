"""Personal-data flags: one test per kind, and the near misses the rules must not flag."""

import random

import pytest

from models_registry.datasets import profile_dataset
from models_registry.datasets.pii import is_card_number, is_iban, luhn_ok, mask

FIRST = ["Anna", "Lukas", "Marie", "Jonas", "Sofia", "Élodie", "Jean-Luc", "Zoë", "Mateo", "Ingrid", "Piotr", "Aoife"]
LAST = ["Müller", "Schmidt", "Dupont", "Rossi", "García", "Nowak", "O'Brien", "Jansen", "Novak", "Larsen", "Costa"]


def _csv(upload, name, header, values):
    return upload(name, header + "\n" + "\n".join(values) + "\n")


def _profile_column(upload, header, values):
    path = _csv(upload, "p.csv", f"row,{header}", [f"{i},{v}" for i, v in enumerate(values)])
    return profile_dataset(path, "p.csv").column(header)


def _people(n, seed=0):
    rng = random.Random(seed)
    return [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(n)]


def _luhn_number(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@pytest.mark.parametrize("header, values, kind", [
    ("contact", [f"user{i}@example.org" for i in range(40)], "email"),
    ("reach", [f"+41 44 {200 + i} {10 + i} {30 + i}" for i in range(40)], "phone"),
    ("reach", [f"({300 + i}) 555-{1000 + i}" for i in range(40)], "phone"),
    ("ref", ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606"] * 10,
     "iban"),
    ("payment", [_luhn_number("4", 16, random.Random(i)) for i in range(40)], "card_number"),
    ("origin", [f"10.{i}.{i * 3 % 256}.7" for i in range(30)] + ["2001:db8::1"], "ip_address"),
    ("code", [f"{100 + i:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(40)], "national_id"),
    ("code", ["12345678Z", "00000000T", "99999999R"] * 10, "national_id"),  # Spanish DNI with check letter
    ("passport_no", [f"X{7_000_000 + i * 37}" for i in range(40)], "national_id"),
    ("contact", _people(60), "person_name"),
    ("surname", [random.Random(i).choice(LAST) for i in range(40)], "person_name"),
    ("customer_name", _people(60, seed=1), "person_name"),
])
def test_each_kind_of_personal_data_is_flagged_with_evidence(upload, header, values, kind):
    column = _profile_column(upload, header, values)
    assert column["pii_kind"] == kind
    evidence = column["pii_evidence"]
    assert evidence["share"] >= 0.6 and evidence["sampled"] == len(values)
    assert evidence["rule"] and evidence["sample_limit"] == 5_000


def test_a_flagged_column_is_listed_and_its_examples_are_masked(upload):
    path = _csv(upload, "c.csv", "id,email", [f"{i},person{i}@example.org" for i in range(10)])
    profile = profile_dataset(path, "c.csv")
    assert profile.pii_columns == ("email",)
    assert profile.column("email")["examples"][0] == "p******@*******.***"
    assert any("personal data (email)" in w for w in profile.warnings)


def test_a_numeric_id_column_is_not_a_phone_number(upload):
    column = _profile_column(upload, "customer_id", [str(4_100_000_000 + i * 7919) for i in range(200)])
    assert column["type"] == "integer" and column["pii_kind"] is None


def test_digits_under_a_phone_column_name_are_phone_numbers(upload):
    column = _profile_column(upload, "mobile_phone", [f"06{12345678 + i * 7}" for i in range(50)])
    assert column["type"] == "string"  # leading zero: a code, not a number
    assert column["pii_kind"] == "phone" and column["pii_evidence"]["column_name_hint"] is True


def test_a_telephone_column_holding_yes_no_is_not_personal_data(upload):
    column = _profile_column(upload, "telephone", ["yes", "no"] * 20)
    assert column["type"] == "boolean" and column["pii_kind"] is None


def test_a_name_column_of_product_skus_is_not_a_person_name(upload):
    # Decision: a column name never flags on its own; SKU-like values (digits) are not names.
    column = _profile_column(upload, "name", [f"SKU-{1000 + i}-{'ABC'[i % 3]}" for i in range(50)])
    assert column["pii_kind"] is None


def test_repeated_two_word_categories_are_not_person_names(upload):
    column = _profile_column(upload, "city", ["New York", "Los Angeles", "San Diego", "Las Vegas"] * 50)
    assert column["pii_kind"] is None


def test_dates_and_decimals_are_not_phone_numbers(upload):
    assert _profile_column(upload, "when", [f"2024-01-{d:02d}" for d in range(1, 29)])["pii_kind"] is None
    assert _profile_column(upload, "x", [f"{1234 + i}.5678" for i in range(30)])["pii_kind"] is None


def test_random_long_numbers_do_not_pass_as_card_numbers(upload):
    rng = random.Random(3)
    values = [str(rng.randrange(10**15, 10**16)) for _ in range(300)]  # ~10% pass Luhn by chance
    assert _profile_column(upload, "account_ref", values)["pii_kind"] is None


def test_a_mostly_clean_column_is_flagged_and_a_rare_match_is_not(upload):
    emails = [f"a{i}@example.com" for i in range(70)] + ["unknown"] * 30
    assert _profile_column(upload, "contact", emails)["pii_kind"] == "email"
    rare = [f"a{i}@example.com" for i in range(10)] + [f"note {i}" for i in range(90)]
    assert _profile_column(upload, "contact", rare)["pii_kind"] is None


def test_the_scan_samples_at_most_5000_values_spread_over_the_file(upload):
    values = [f"x{i}@example.com" for i in range(12_000)]
    evidence = _profile_column(upload, "contact", values)["pii_evidence"]
    assert evidence["sampled"] == 5_000 and evidence["matched"] == 5_000


def test_checksum_helpers():
    assert is_card_number("4111 1111 1111 1111") and not is_card_number("4111 1111 1111 1112")
    assert is_iban("DE89370400440532013000") and not is_iban("DE89370400440532013001")
    assert mask("Anna Müller") == "A*** ******"
