#!/usr/bin/env python3
"""Validate canonical records (NDJSON) against docs/spec/canonical.schema.json.

Usage: validate-canonical.py [FILE...]      (no FILE, or FILE "-": read standard input)

Every non-blank line must be one JSON object that is valid against the canonical schema
(JSON Schema draft 2020-12) and whose ID numbers (GB 11643) and credit codes (GB 32100) carry the
correct check character, as the schema's descriptions require. Messages never repeat the offending
value (records carry personal data). Prints "N records valid", or one line per failure
("file:line: message") followed by a summary.

Exit status: 0 all records valid, 1 any failure (unparseable line or schema violation),
2 no records at all (nothing given to check is treated as a mistake, not as success).
"""
import json
import os
import sys

from jsonschema import Draft202012Validator

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "spec", "canonical.schema.json")


def reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"duplicate member names: {', '.join(duplicated)}")
    return dict(pairs)


KIND_BRANCH = {"traffic-violation": 0, "enforcement-case": 1, "bulletin": 2}  # order of the schema's oneOf


def branch_errors(error, record):
    """For a failed oneOf, the errors of the branch the record's kind selects (all of them when unknown)."""
    context = error.context or []
    branch = KIND_BRANCH.get(record.get("kind")) if isinstance(record, dict) else None
    if branch is not None:
        context = [sub for sub in context if sub.relative_schema_path and sub.relative_schema_path[0] == branch]
    seen, unique = set(), []
    for sub in sorted(context, key=lambda e: (list(map(str, e.absolute_path)), describe(e))):
        key = (tuple(map(str, sub.absolute_path)), describe(sub))
        if key not in seen:
            seen.add(key)
            unique.append(sub)
    return unique


def describe(error):
    """A message that never repeats the offending value: records carry names and ID numbers."""
    if error.validator in ("required", "additionalProperties", "unevaluatedProperties"):
        return error.message  # names members only
    if error.validator == "oneOf":
        return "does not match the schema of its kind"
    expected = json.dumps(error.validator_value, ensure_ascii=False)
    if len(expected) > 120:
        expected = expected[:117] + "..."
    return f"fails {error.validator} {expected}"


ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def id_number_ok(value):
    """GB 11643 check character (the schema's pattern checks the shape, not the checksum)."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(value, ID_WEIGHTS)) % 11] == value[17]


def credit_code_ok(value):
    """GB 32100 check character."""
    if len(value) != 18 or any(c not in CREDIT_ALPHABET for c in value):
        return False
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(value, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31] == value[17]


def check_characters(record):
    """Pointers of ID numbers and credit codes whose check character is wrong."""
    if not isinstance(record, dict):
        return []
    bad = []
    for owner in ("driver", "party"):
        member = record.get(owner)
        if not isinstance(member, dict):
            continue
        if isinstance(member.get("idNumber"), str) and not id_number_ok(member["idNumber"]):
            bad.append((f"/{owner}/idNumber", "wrong GB 11643 check character"))
        if isinstance(member.get("creditCode"), str) and not credit_code_ok(member["creditCode"]):
            bad.append((f"/{owner}/creditCode", "wrong GB 32100 check character"))
    return bad


def lines_of(name):
    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(name, "rb") as handle:
            data = handle.read()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        yield number, raw


def main(argv):
    with open(SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    names = argv or ["-"]
    records = 0
    failures = 0
    for name in names:
        label = "<stdin>" if name == "-" else name
        try:
            numbered = list(lines_of(name))
        except OSError as error:
            print(f"{label}: cannot read: {error.strerror}")
            failures += 1
            continue
        for number, raw in numbered:
            if not raw.strip():
                continue
            records += 1
            try:
                record = json.loads(raw.decode("utf-8"), object_pairs_hook=reject_duplicates,
                                    parse_constant=reject_constant)
            except (UnicodeDecodeError, ValueError) as error:
                print(f"{label}:{number}: not a JSON record: {error}")
                failures += 1
                continue
            errors = sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
            checks = check_characters(record)
            if errors or checks:
                failures += 1
            for pointer, message in checks:
                print(f"{label}:{number}: {pointer}: {message}")
            if errors:
                for error in errors:
                    pointer = "".join(f"/{part}" for part in error.absolute_path) or "/"
                    print(f"{label}:{number}: {pointer}: {describe(error)}")
                    for sub in branch_errors(error, record):
                        inner = "".join(f"/{part}" for part in sub.absolute_path) or "/"
                        print(f"{label}:{number}:   {inner}: {describe(sub)}")

    if records == 0 and failures == 0:
        print("no records given")
        return 2
    if failures:
        print(f"{failures} failure(s) in {records} record(s)")
        return 1
    print(f"{records} records valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
