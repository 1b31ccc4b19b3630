"""Does a column look like personal data? Rules on a sample of its values, plus its name.

Policy (documented for reviewers): a flag asks a human to look; it is not a verdict. We prefer
a false alarm on a product table to a silent miss on customer data, but every rule needs the
*values* to agree, so a column name alone never flags (German Credit's ``telephone`` holds
yes/no and is not a phone number). Purely numeric values count as phone numbers or national
ids only when the column's name says so: a 10-digit ``customer_id`` is an id, not a phone.

Bare ``name`` columns: flagged only when most values are alphabetic words, so a product table
whose ``name`` holds SKU codes (``SKU-1042-A``) is not flagged, while one holding "Blue Widget"
would be: a false alarm we accept, as the reviewer sees the masked examples and the rule.

Per column we scan at most ``sample_size`` non-missing values, evenly spaced over the file (so
the sample is deterministic and not just the first rows), and flag the kind whose rule matches
at least ``THRESHOLD`` of them. The evidence records rule, matches, sample size and share.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

import pyarrow as pa

THRESHOLD = 0.6
EMAIL = re.compile(r"[A-Za-z0-9._%+'\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PHONE_SHAPE = re.compile(r"\+?[\d\s().\-/]{6,24}")
DATE_SHAPE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?")
IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
SSN = re.compile(r"(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")
UK_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]")
IT_CODICE_FISCALE = re.compile(r"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]")
ES_DNI = re.compile(r"(\d{8})-?([A-Z])")
FULL_NAME = re.compile(r"[A-ZÀ-Þ][a-zß-ÿ'’]+(?:-[A-ZÀ-Þ][a-zß-ÿ'’]+)?(?:\s+[A-ZÀ-Þ][a-zß-ÿ'’.]+(?:-[A-ZÀ-Þ][a-zß-ÿ'’]+)?){1,3}")
CARD_SEPARATORS = re.compile(r"[\s\-]")
ID_SEPARATORS = re.compile(r"[\s.\-]")
NAME_WORDS = re.compile(r"[^\W\d_][^\W\d_'’.\-]*(?:[\s'’.\-]+[^\W\d_]+){0,3}\.?")

PERSON_NAME_COLUMNS = {
    "name", "first_name", "firstname", "given_name", "forename", "middle_name", "last_name", "lastname", "surname",
    "family_name", "maiden_name", "full_name", "fullname", "person_name", "nom", "prenom", "vorname", "nachname",
}
PERSON_PREFIXES = ("customer", "client", "patient", "employee", "applicant", "user", "contact", "member", "borrower",
                   "holder", "account_holder", "card_holder", "student", "owner", "beneficiary", "insured", "person")
PHONE_WORDS = ("phone", "mobile", "cell", "fax", "tel", "telephone", "msisdn")
NATIONAL_ID_WORDS = ("ssn", "social_security", "national_id", "nationalid", "nin", "nino", "passport", "tax_id", "taxid",
                     "tin", "nir", "bsn", "dni", "nif", "personnummer", "id_card", "codice_fiscale", "steuer_id")


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _name_has(name: str, words: tuple[str, ...]) -> bool:
    parts = normalise(name).split("_")
    joined = "_".join(parts)
    return any(w in parts or joined == w or joined.startswith(w + "_") or joined.endswith("_" + w) for w in words)


def is_person_name_column(name: str) -> bool:
    norm = normalise(name)
    if norm in PERSON_NAME_COLUMNS:
        return True
    return norm.endswith("_name") and norm[: -len("_name")] in PERSON_PREFIXES


def sample_values(text: pa.ChunkedArray, size: int) -> list[str]:
    """Up to ``size`` non-missing values, evenly spaced over the column."""
    values = text.drop_null()
    positions = sample_positions(len(values), size)
    if positions is None:
        return values.to_pylist()
    return values.take(pa.array(positions)).to_pylist()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card_number(v: str) -> bool:
    digits = CARD_SEPARATORS.sub("", v)
    return 13 <= len(digits) <= 19 and digits.isdigit() and digits[0] in "23456" and luhn_ok(digits)


def is_iban(v: str) -> bool:
    s = v.replace(" ", "").upper()
    if not IBAN_SHAPE.fullmatch(s):
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def is_ip(v: str) -> bool:
    if not (":" in v or v.count(".") == 3):
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def is_national_id(v: str, named: bool) -> bool:
    s = v.strip().upper()
    if SSN.fullmatch(s) or UK_NINO.fullmatch(s) or IT_CODICE_FISCALE.fullmatch(s):
        return True
    dni = ES_DNI.fullmatch(s)
    if dni and "TRWAGMYFPDXBNJZSQVHLCKE"[int(dni.group(1)) % 23] == dni.group(2):
        return True
    digits = ID_SEPARATORS.sub("", s)
    if len(digits) == 15 and digits.isdigit() and digits[0] in "12":  # French NIR with its control key
        return 97 - int(digits[:13]) % 97 == int(digits[13:])
    # Other countries' ids are bare digit/letter codes: only believable under an id-like column name.
    return named and 6 <= len(digits) <= 20 and any(c.isdigit() for c in digits) and digits.isalnum()


def is_phone(v: str, named: bool) -> bool:
    s = v.strip()
    if not PHONE_SHAPE.fullmatch(s) or DATE_SHAPE.fullmatch(s):
        return False
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15:
        return False
    formatted = s.startswith(("+", "00", "(")) or bool(re.search(r"\d[\s.\-/()]\d", s))
    if s.count(".") == 1 and not named:
        return False  # 1234.5678 is a decimal number
    return named or formatted


def is_full_name(v: str) -> bool:
    return bool(FULL_NAME.fullmatch(v.strip()))


def is_name_like(v: str) -> bool:
    return bool(NAME_WORDS.fullmatch(v.strip()))


def sample_positions(count: int, size: int) -> list[int] | None:
    """Which of ``count`` non-missing values ``sample_values`` takes (None: all of them), so a
    streaming reader can pick the same values chunk by chunk."""
    if count <= size:
        return None
    step = count / size
    return [int(i * step) for i in range(size)]


def detect_pii(column: str, text: pa.ChunkedArray | None, kind: str, sample_size: int) -> tuple[str | None, dict | None]:
    """Returns (pii_kind, evidence) for one column; (None, None) when nothing matches."""
    if text is None or kind not in ("string", "integer"):
        return None, None
    return detect_pii_in_sample(column, sample_values(text, sample_size), kind, sample_size)


def detect_pii_in_sample(column: str, sample: list[str], kind: str, sample_size: int) -> tuple[str | None, dict | None]:
    """``detect_pii`` on values already sampled (evenly spaced, at most ``sample_size``)."""
    if kind not in ("string", "integer") or not sample:
        return None, None
    phone_named = _name_has(column, PHONE_WORDS)
    id_named = _name_has(column, NATIONAL_ID_WORDS)
    person_named = is_person_name_column(column)
    if kind == "integer" and not (phone_named or id_named) and max(len(str(v)) for v in sample) < 13:
        return None, None  # plain numbers: only card numbers (13+ digits) can be personal without a name hint
    rules = [
        ("email", "email_address_pattern", EMAIL.fullmatch, False),
        ("iban", "iban_mod97_checksum", is_iban, False),
        ("card_number", "luhn_13_to_19_digits", is_card_number, False),
        ("ip_address", "ipv4_or_ipv6_address", is_ip, False),
        ("national_id", "national_id_formats" + ("_and_column_name" if id_named else ""),
         lambda v: is_national_id(v, id_named), id_named),
        ("phone", "phone_number_shape" + ("_and_column_name" if phone_named else ""),
         lambda v: is_phone(v, phone_named), phone_named),
    ]
    if kind == "string":
        if person_named:
            rules.append(("person_name", "person_name_column_and_alphabetic_values", is_name_like, True))
        elif len(set(sample)) >= 0.3 * len(sample):
            # Without the name hint, only "Firstname Lastname"-shaped values that rarely repeat
            # (so "New York" in a city column with thousands of rows does not count).
            rules.append(("person_name", "firstname_lastname_values", is_full_name, False))
    # Rules run once per distinct value (a categorical column has a handful), weighted by count.
    counts = Counter(str(v) for v in sample)
    best = None
    for pii_kind, rule, test, named in rules:
        matched = sum(n for v, n in counts.items() if test(v))
        share = matched / len(sample)
        if share >= THRESHOLD and (best is None or share > best[1]["share"]):
            best = (pii_kind, {"rule": rule, "matched": matched, "sampled": len(sample), "share": round(share, 4),
                               "sample_limit": sample_size, "column_name_hint": named})
    return best if best else (None, None)


def mask(value: str) -> str:
    """Examples of a PII column are shown masked: first character kept, letters and digits starred."""
    return value[:1] + re.sub(r"[^\W_]", "*", value[1:]) if value else value
