"""The Ed25519 certificate signing layer (audits.certification.signing) and the offline
command-line check (tools/verify_certificate.py). No database: signing never touches the ORM."""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import json
import math
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from audits.certification import signing

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_certificate.py"

# A fixed key, so documents are reproducible: base64 of 32 raw private bytes, as in .env.
ENV_KEY_RAW = bytes(range(32))
ENV_KEY = base64.b64encode(ENV_KEY_RAW).decode()

PAYLOAD = {
    "certificate_id": "CERT-2026-0001",
    "system": {"id": 7, "name": "Crédit scoring — Zürich"},
    "version": "1.4.0",
    "risk_tier": "high",
    "valid_from": "2026-01-01",
    "valid_until": "2026-12-31",
    "conditions": [{"text": "Monitor drift", "due": "2026-06-30"}],
    "approved": True,
    "auc": 0.91,
}


def load_tool():
    spec = importlib.util.spec_from_file_location("verify_certificate_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(autouse=True)
def fresh_key_cache():
    signing.clear_key_cache()
    yield
    signing.clear_key_cache()


@pytest.fixture
def key_file(settings, tmp_path) -> Path:
    """No key in the environment: the portal uses (and creates) this file."""
    path = tmp_path / "keys" / "certificate-signing-ed25519.pem"
    settings.CERTIFICATE_SIGNING_KEY = None
    settings.CERTIFICATE_SIGNING_KEY_FILE = path
    return path


@pytest.fixture
def portal_key(key_file, settings) -> Ed25519PrivateKey:
    settings.CERTIFICATE_SIGNING_KEY = ENV_KEY
    return Ed25519PrivateKey.from_private_bytes(ENV_KEY_RAW)


def other_public_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def file_bytes(document: dict) -> bytes:
    return signing.canonical_bytes(document)


def flipped(data: bytes, index: int, bit: int) -> bytes:
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


# --- canonical JSON -------------------------------------------------------------------------


def test_canonical_bytes_sort_keys_drop_whitespace_and_keep_non_ascii_as_utf8():
    payload = {"b": [1, {"z": None, "a": "Zürich"}], "a": True, "é": 0.5}
    assert signing.canonical_bytes(payload) == '{"a":true,"b":[1,{"a":"Zürich","z":null}],"é":0.5}'.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_canonical_bytes_refuse_nan_and_infinity(value):
    with pytest.raises(signing.CanonicalJSONError, match="NaN and infinity"):
        signing.canonical_bytes({"nested": [{"score": value}]})


@pytest.mark.parametrize(
    "payload, message",
    [
        ({1: "a", "1": "b"}, "non-string key"),
        ({"when": {1, 2}}, "set, which is not a JSON value"),
        ({"text": "\ud800"}, "not canonical JSON"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_canonical_bytes_refuse_what_json_cannot_say_exactly(payload, message):
    with pytest.raises(signing.CanonicalJSONError, match=message):
        signing.canonical_bytes(payload)


# --- signing and verifying ------------------------------------------------------------------


def test_a_signed_document_verifies_with_the_portal_key_and_with_its_published_public_key(portal_key):
    document = signing.sign_document(PAYLOAD)

    expected = signing.VerificationResult(True, f"the signature is valid (key {signing.key_id()})")
    assert signing.verify_document(document) == expected
    assert signing.verify_document(document, public_key_pem=signing.public_key_pem()).ok
    assert signing.verify_document_json(json.dumps(document, indent=2)).ok


def test_the_document_names_its_format_algorithm_and_key_and_signs_the_canonical_payload(portal_key):
    document = signing.sign_document(PAYLOAD)

    assert set(document) == {"format", "algorithm", "key_id", "payload", "signature"}
    assert document["format"] == "ai-portal-certificate/1" and document["algorithm"] == "Ed25519"
    assert document["payload"] == PAYLOAD
    raw_public = portal_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert document["key_id"] == signing.key_id() == "ed25519:" + hashlib.sha256(raw_public).hexdigest()[:16]
    # Checked with the key itself, not through verify_document: the signature is over these bytes.
    portal_key.public_key().verify(base64.b64decode(document["signature"]), signing.canonical_bytes(PAYLOAD))


def test_changing_the_callers_payload_after_signing_does_not_change_the_document(portal_key):
    payload = {"conditions": [{"text": "Monitor drift"}], "tags": ("a", "b")}
    document = signing.sign_document(payload)
    payload["conditions"].append({"text": "added later"})

    assert document["payload"] == {"conditions": [{"text": "Monitor drift"}], "tags": ["a", "b"]}
    assert signing.verify_document(document).ok


def test_flipping_any_bit_of_any_byte_of_the_canonical_payload_breaks_the_signature(portal_key):
    document = signing.sign_document(PAYLOAD)
    original = signing.canonical_bytes(PAYLOAD)
    still_json = 0
    for index in range(len(original)):
        for bit in range(8):
            mutant = flipped(original, index, bit)
            try:
                payload = json.loads(mutant.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue  # not JSON any more: it cannot even be presented as a payload
            if not isinstance(payload, dict):
                continue
            still_json += 1
            result = signing.verify_document({**document, "payload": payload})
            assert not result.ok, f"byte {index} bit {bit}: {mutant!r} still verifies"
            assert "altered" in result.reason
    assert still_json > 50, "too few mutants were valid JSON for this test to mean anything"


def test_flipping_any_bit_of_the_certificate_file_makes_it_invalid(portal_key):
    data = file_bytes(signing.sign_document(PAYLOAD))
    assert signing.verify_document_json(data).ok
    for index in range(len(data)):
        for bit in range(8):
            result = signing.verify_document_json(flipped(data, index, bit))
            assert not result.ok, f"byte {index} bit {bit} of {data!r} still verifies"
            assert result.reason


def test_flipping_any_bit_of_the_raw_signature_or_changing_any_character_of_its_base64_fails(portal_key):
    document = signing.sign_document(PAYLOAD)
    raw = base64.b64decode(document["signature"])
    for index in range(len(raw)):
        for bit in range(8):
            forged = base64.b64encode(flipped(raw, index, bit)).decode()
            assert not signing.verify_document({**document, "signature": forged}).ok
    text = document["signature"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    for index in range(len(text)):
        for char in alphabet.replace(text[index], ""):
            forged = text[:index] + char + text[index + 1 :]
            assert not signing.verify_document({**document, "signature": forged}).ok, forged


def test_a_wrong_public_key_fails_even_when_the_key_id_is_forged_to_match_it(portal_key):
    document = signing.sign_document(PAYLOAD)
    stranger = other_public_pem()

    result = signing.verify_document(document, public_key_pem=stranger)
    assert not result.ok and "names signing key" in result.reason

    stranger_id = tool.key_id_for(serialization.load_pem_public_key(stranger.encode()))
    result = signing.verify_document({**document, "key_id": stranger_id}, public_key_pem=stranger)
    assert not result.ok and "altered" in result.reason


def test_a_document_signed_by_another_key_fails_against_the_portal_key(portal_key, settings):
    document = signing.sign_document(PAYLOAD)
    settings.CERTIFICATE_SIGNING_KEY = base64.b64encode(b"\x01" * 32).decode()

    result = signing.verify_document(document)
    assert not result.ok and "names signing key" in result.reason


def _with(**changes):
    return lambda document: {**document, **changes}


def _without(field):
    return lambda document: {k: v for k, v in document.items() if k != field}


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda d: None, "must be a JSON object, not NoneType"),
        (lambda d: [d], "must be a JSON object, not list"),
        (lambda d: "certificate", "must be a JSON object, not str"),
        (lambda d: {}, "lacks the field(s) algorithm, format, key_id, payload, signature"),
        (_without("signature"), "lacks the field(s) signature"),
        (_with(comment="trust me"), "unexpected field(s) comment"),
        (_with(format="ai-portal-certificate/2"), "unsupported certificate format"),
        (_with(format=["ai-portal-certificate/1"]), "unsupported certificate format"),
        (_with(algorithm="RS256"), "unsupported algorithm"),
        (_with(key_id=42), "key_id must be a string"),
        (_with(signature=None), "signature must be a string"),
        (_with(payload=["a"]), "payload must be a JSON object"),
        (_with(payload="{}"), "payload must be a JSON object"),
        (_with(signature="not base64!"), "not standard base64 of 64 bytes"),
        (_with(signature=base64.b64encode(b"x" * 63).decode()), "not standard base64 of 64 bytes"),
        (_with(signature=base64.b64encode(b"x" * 64).decode().rstrip("=")), "not standard base64 of 64 bytes"),
        (_with(signature=base64.urlsafe_b64encode(b"\xff" * 64).decode()), "not standard base64 of 64 bytes"),
        (_with(payload={"score": math.nan}), "NaN and infinity are not JSON"),
        (_with(payload={"when": {1, 2}}), "not a JSON value"),
        (_with(payload={1: "x"}), "non-string key"),
    ],
)
def test_malformed_documents_give_a_reason_not_an_exception(portal_key, change, reason):
    document = signing.sign_document(PAYLOAD)
    # Keep the key id right so each case reaches the check it is about.
    result = signing.verify_document(change(document))
    assert result.ok is False
    assert reason in result.reason


def test_a_signature_with_altered_spare_base64_bits_is_refused(portal_key):
    document = signing.sign_document(PAYLOAD)
    text = document["signature"]  # 64 bytes: 86 characters, the last with 4 unused bits, then "=="
    assert text.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = text[:85] + alphabet[alphabet.index(text[85]) ^ 1] + "=="
    assert base64.b64decode(twin) == base64.b64decode(text)  # same bytes, different certificate text

    result = signing.verify_document({**document, "signature": twin})
    assert not result.ok and "base64" in result.reason


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\xff\xfe{}", "not valid JSON"),
        (b'{"format": "a", "format": "b"}', "same key twice"),
        (b'{"payload": {"score": NaN}}', "NaN is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"", "not valid JSON"),
        (b"null", "must be a JSON object"),
    ],
)
def test_malformed_certificate_files_give_a_reason_not_an_exception(portal_key, data, reason):
    result = signing.verify_document_json(data)
    assert result.ok is False and reason in result.reason


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    ],
    ids=[
        "empty",
        "not a key",
        "truncated PEM",
        "EC P-256 key",
    ],  # fixed ids: pytest-xdist workers must collect the same tests
)
def test_a_public_key_that_is_not_ed25519_pem_gives_a_reason_not_an_exception(portal_key, pem):
    result = signing.verify_document(signing.sign_document(PAYLOAD), public_key_pem=pem)
    assert result == signing.VerificationResult(False, "the public key given is not an Ed25519 public key in PEM form")


# --- where the key comes from --------------------------------------------------------------


def test_the_key_file_is_created_once_with_mode_0600_and_reused(key_file):
    assert not key_file.exists()
    first = signing.load_or_create_signing_key()

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    content = key_file.read_bytes()
    assert content.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert sorted(p.name for p in key_file.parent.iterdir()) == [key_file.name, key_file.name + ".lock"]

    signing.clear_key_cache()  # as a new process would
    second = signing.load_or_create_signing_key()
    assert raw_private(second) == raw_private(first)
    assert key_file.read_bytes() == content


def test_the_key_is_cached_in_the_process(key_file):
    first = signing.load_or_create_signing_key()
    key_file.unlink()
    assert signing.load_or_create_signing_key() is first
    assert not key_file.exists()


def _race(path: str, barrier, queue) -> None:
    barrier.wait()
    key = signing.load_or_create_key_file(Path(path))
    queue.put(raw_private(key))


def test_processes_racing_to_create_the_key_file_end_with_one_key(tmp_path):
    path = tmp_path / "keys" / "signing.pem"
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_race, args=(str(path), barrier, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    keys = [queue.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    assert len(set(keys)) == 1
    assert raw_private(serialization.load_pem_private_key(path.read_bytes(), None)) == keys[0]


def test_the_default_key_file_lives_in_a_keys_folder_under_data_dir():
    from django.conf import settings

    expected = settings.DATA_DIR / "keys" / "certificate-signing-ed25519.pem"
    assert settings.CERTIFICATE_SIGNING_KEY_FILE == expected


def test_the_settings_read_the_key_and_the_key_file_from_the_environment(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
        "CERTIFICATE_SIGNING_KEY": f"  {ENV_KEY}\n",
        "CERTIFICATE_SIGNING_KEY_FILE": str(tmp_path / "elsewhere.pem"),
    }
    code = "import config.settings as s; print(s.CERTIFICATE_SIGNING_KEY); print(s.CERTIFICATE_SIGNING_KEY_FILE)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [ENV_KEY, str(tmp_path / "elsewhere.pem")]


def test_a_key_from_the_environment_wins_over_the_key_file(key_file, settings):
    file_key = signing.load_or_create_signing_key()
    assert key_file.exists()

    settings.CERTIFICATE_SIGNING_KEY = ENV_KEY
    assert raw_private(signing.load_or_create_signing_key()) == ENV_KEY_RAW != raw_private(file_key)
    file_key_id = tool.key_id_for(file_key.public_key())
    assert signing.sign_document(PAYLOAD)["key_id"] == signing.key_id() != file_key_id


def test_a_pem_key_from_the_environment_is_accepted(key_file, settings):
    key = Ed25519PrivateKey.from_private_bytes(ENV_KEY_RAW)
    settings.CERTIFICATE_SIGNING_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    assert raw_private(signing.load_or_create_signing_key()) == ENV_KEY_RAW
    assert not key_file.exists()


def _pem(key, encryption=None) -> str:
    encryption = serialization.NoEncryption() if encryption is None else encryption
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


@pytest.mark.parametrize(
    "value, message",
    [
        ("not base64!", "neither a PEM private key nor standard base64"),
        (base64.b64encode(b"k" * 31).decode(), "decodes to 31 bytes"),
        (base64.b64encode(b"k" * 33).decode(), "decodes to 33 bytes"),
        (base64.urlsafe_b64encode(b"\xfb" * 32).decode(), "neither a PEM private key nor standard base64"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "not a readable PEM private key"),
        (_pem(Ed25519PrivateKey.generate()).replace("\n", "\\n"), "not a readable PEM private key"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "not an Ed25519 private key"),
        (_pem(Ed25519PrivateKey.generate(), serialization.BestAvailableEncryption(b"pw")), "encrypted PEM"),
    ],
    ids=[
        "not base64",
        "31 bytes",
        "33 bytes",
        "urlsafe base64",
        "truncated PEM",
        "escaped newlines",
        "EC key",
        "encrypted",
    ],
)
def test_a_malformed_key_in_the_environment_fails_loudly_naming_the_setting(key_file, settings, value, message):
    settings.CERTIFICATE_SIGNING_KEY = value
    with pytest.raises(ImproperlyConfigured, match="CERTIFICATE_SIGNING_KEY") as error:
        signing.load_or_create_signing_key()
    assert message in str(error.value)
    assert not key_file.exists(), "a broken configured key must not fall back to a new file key"


def test_a_malformed_key_file_fails_loudly_naming_the_file(key_file):
    key_file.parent.mkdir(mode=0o700)
    key_file.write_text("garbage")
    with pytest.raises(ImproperlyConfigured, match="CERTIFICATE_SIGNING_KEY_FILE") as error:
        signing.load_or_create_signing_key()
    assert str(key_file) in str(error.value)
    assert key_file.read_text() == "garbage", "a broken key file must never be replaced silently"


def test_a_key_file_that_cannot_be_created_fails_loudly_naming_the_file(key_file, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.CERTIFICATE_SIGNING_KEY_FILE = blocker / "keys" / "signing.pem"
    with pytest.raises(ImproperlyConfigured, match="does not exist and cannot be created"):
        signing.load_or_create_signing_key()


def raw_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


# --- the offline command-line check ---------------------------------------------------------


@pytest.fixture
def offline(portal_key, tmp_path):
    """A certificate and the public key as a verifier downloads them, and a copy of the tool
    outside the project, run with an isolated interpreter (-I: no project on sys.path)."""
    folder = tmp_path / "offline"
    folder.mkdir()
    shutil.copy(TOOL, folder / "verify_certificate.py")
    (folder / "portal-public-key.pem").write_text(signing.public_key_pem())
    document = signing.sign_document(PAYLOAD)
    # Pretty-printed with escaped non-ASCII: the file's layout must not matter, only its content.
    (folder / "certificate.json").write_text(json.dumps(document, indent=2, ensure_ascii=True))
    return folder


def run_tool(folder: Path, *args: str) -> subprocess.CompletedProcess:
    # -X utf8: the certificate's non-ASCII text reaches the test intact whatever the locale.
    return subprocess.run(
        [sys.executable, "-I", "-X", "utf8", "verify_certificate.py", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def check(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_tool(folder, "certificate.json", "--public-key", "portal-public-key.pem", *extra)


def test_the_command_line_check_says_valid_and_shows_the_certificate_for_a_genuine_file(offline):
    result = check(offline)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("VALID: the signature is valid (key ed25519:")
    assert "certificate: CERT-2026-0001" in lines
    assert "system:      Crédit scoring — Zürich" in lines
    assert "version:     1.4.0" in lines
    assert "valid from:  2026-01-01" in lines and "valid until: 2026-12-31" in lines


def test_the_command_line_check_says_invalid_with_exit_code_1_for_a_tampered_file(offline):
    document = json.loads((offline / "certificate.json").read_text())
    document["payload"]["risk_tier"] = "minimal"
    (offline / "certificate.json").write_text(json.dumps(document))

    result = check(offline)
    assert result.returncode == 1
    assert result.stdout.startswith("INVALID: the signature does not match the payload")
    assert "none of it can be trusted" in result.stdout


def test_the_command_line_check_says_invalid_for_a_file_that_is_not_json(offline):
    (offline / "certificate.json").write_bytes(b"\xff not json")
    result = check(offline)
    assert result.returncode == 1 and result.stdout.startswith("INVALID: the certificate is not valid JSON")


def test_the_command_line_check_says_invalid_for_another_portals_key(offline):
    (offline / "portal-public-key.pem").write_text(other_public_pem())
    result = check(offline)
    assert result.returncode == 1 and "names signing key" in result.stdout


@pytest.mark.parametrize(
    "day, code, text",
    [
        ("2026-01-01", 0, "VALID: the signature is valid (key ed25519:"),
        ("2026-12-31", 0, "; valid on 2026-12-31"),
        ("2025-12-31", 1, "INVALID: the signature is genuine, but the certificate was not yet valid on 2025-12-31"),
        ("2027-01-01", 1, "INVALID: the signature is genuine, but the certificate had expired on 2027-01-01"),
    ],
)
def test_the_command_line_check_tests_the_validity_window_with_at(offline, day, code, text):
    result = check(offline, "--at", day)
    assert result.returncode == code, result.stdout
    assert text in result.stdout.splitlines()[0]
    assert "certificate: CERT-2026-0001" in result.stdout
    assert "cannot be trusted" not in result.stdout, "the signature is genuine; only the date is wrong"


def test_a_certificate_without_validity_dates_has_no_window(portal_key, offline):
    document = signing.sign_document({"certificate_id": "CERT-9"})
    (offline / "certificate.json").write_text(json.dumps(document))
    result = check(offline, "--at", "1999-01-01")
    assert result.returncode == 0 and "valid from:  -" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required"),
        (["certificate.json"], "the following arguments are required: --public-key"),
        (["missing.json", "--public-key", "portal-public-key.pem"], "cannot read the certificate missing.json"),
        (["certificate.json", "--public-key", "missing.pem"], "cannot read the public key missing.pem"),
        (["certificate.json", "--public-key", "certificate.json"], "not a PEM public key"),
        (["certificate.json", "--public-key", "portal-public-key.pem", "--at", "2026-W01-1"], "not a date"),
        (["certificate.json", "--public-key", "portal-public-key.pem", "--at", "20260101"], "not a date"),
    ],
)
def test_the_command_line_check_exits_with_2_on_usage_errors(offline, args, message):
    result = run_tool(offline, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "VALID" not in result.stdout


def test_the_command_line_check_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(TOOL.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names == {"cryptography"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)
payloads = st.dictionaries(st.text(), json_values, max_size=6)


# The key fixture is shared by all examples on purpose: it is read-only.
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_the_command_line_check_and_the_portal_agree_on_canonical_bytes_and_on_validity(portal_key, payload):
    assert tool.canonical_bytes(payload) == signing.canonical_bytes(payload)

    document = signing.sign_document(payload)
    # Through a file written differently (indented, non-ASCII escaped) and read back strictly.
    as_file = json.dumps(document, indent=1, ensure_ascii=True).encode()
    public_key = tool.load_public_key(signing.public_key_pem().encode())
    assert tool.verify(tool.parse_document(as_file), public_key).startswith("the signature is valid")
    assert signing.verify_document_json(as_file).ok


def test_the_command_line_check_agrees_with_the_portal_on_non_ascii_and_nested_payloads(portal_key, offline):
    payload = {
        "système": {"名前": "信用スコア", "nested": {"z": [1, {"é": "ß"}], "a": None}},
        "emoji": "🙂",
        "certificate_id": "CERT-ÜMLAUT",
    }
    (offline / "certificate.json").write_text(
        json.dumps(signing.sign_document(payload), ensure_ascii=False), encoding="utf-8"
    )
    result = check(offline)
    assert result.returncode == 0, result.stdout
    assert "certificate: CERT-ÜMLAUT" in result.stdout
