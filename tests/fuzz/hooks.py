"""Schemathesis hooks for Chancery's spec (see tests/fuzz/run).

Two things the spec cannot say to a generator:

- `POST /v1/import` takes NDJSON (`application/x-ndjson`, `application/jsonl`), one
  JSON document per line, described as a string body. Schemathesis has no serializer
  for these media types; the generated string is sent as UTF-8, as is.
- A negative test of the import body's type has no NDJSON form: any body is lines.
- Some schema-valid requests are refused for what the server holds, not for their
  shape: an opaque `cursor` only the server can make, a well-formed id naming a
  person or participant that does not exist, an end date before the start date (a
  rule between two fields), a patch that leaves a participant naming nobody (it
  depends on what the participant held), or a `null` an inferred link put into a path. `filter_failure` drops exactly those
  "schema-valid request rejected" failures, matched by the field and message of the
  server's problem document, and nothing else.
- Parameters that exclude each other: the export's `type=people` takes no other
  parameter but `format=ndjson`, so with a meeting filter or `format=csv` it is a 400
  (the spec says so in prose).
- Two text rules no JSON Schema pattern can state, so schema-valid values break them:
  a name (participant `name` and `organization`, `speaker_name`, a person's `name` and
  `aliases`) with a word mixing Latin, Cyrillic or Greek letters is refused as "mixes
  scripts" (the spec says so in prose), and a name filter made only of white space and
  invisible characters beyond the Basic Multilingual Plane (tag characters, say), which
  the filters' pattern cannot list, leaves nothing to look for (400). Those two refusals
  are dropped, each only when the value sent shows the reason, and nothing else.
- An `Idempotency-Key` promises one request: the same key with a different request is
  refused (422) by design, and a generator reuses short values (`0`) all the time.
  `before_call` gives every request that carries a valid key a fresh one, so keys are
  still sent and stored on every POST; invalid keys (negative tests) are left as they are.
- A meeting's history is its audit trail and outlives it by design (the spec says so):
  reading `/v1/meetings/{id}/history` after the meeting's DELETE is answered 200, so the
  stateful phase's "deleted resource still available" (ST301) is dropped for that
  path only. Every other sub-resource of a deleted meeting is still checked.
"""

import json
import re
import unicodedata
import uuid

import schemathesis

_TOKEN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
_VALID_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and _VALID_KEY.fullmatch(headers[name]):
            headers[name] = str(uuid.uuid4())


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def ndjson(ctx, value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    # A negative test's non-string body has no NDJSON form; sent as one JSON line.
    return (json.dumps(value) + "\n").encode("utf-8")


def _problem(response):
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return None
    return body if isinstance(body, dict) else None


# Refusals for what the server holds, or for a rule between two fields that a JSON
# Schema cannot state (an end date not before the start date).
_STATE_DEPENDENT = (
    "there is no person ",
    "there is no participant ",
    # A Wikidata id alone names whoever holds it: nobody, in a fresh database.
    "no person has the Wikidata id ",
    " is not a participant of this meeting",
    "must not be before `date`",
    # A role's end before its start is a rule across two fields (and, in a patch, the
    # stored one), and a partial date's day must exist (`1960-02-30`): no pattern says so.
    "a role cannot end before it starts",
    "is not a date: give `YYYY`, `YYYY-MM` or `YYYY-MM-DD`",
    # Commitments: an event's day against the agreement's making and today, the
    # meetings and agreements an event or a link names, a chain of `supersedes`, and a
    # document's status against its agreement's own history.
    "there is no meeting ",
    "there is no agreement ",
    "is before the agreement was made",
    "came before the agreement was made",
    "is in the future (today is ",
    "this link would close a cycle of `supersedes`",
    "an agreement cannot relate to itself",
    "must be the status of the latest event",
)

# A name with a word whose letters mix Latin, Cyrillic or Greek (look-alikes, as in
# `Rаmón` with a Cyrillic `а`) is refused; a pattern cannot say "within one word, one of
# these scripts", so the spec states the rule in prose. The server's message names the
# word and its scripts: "mixes scripts: `Rаmón` has Latin and Cyrillic letters in one word".
_MIXED_SCRIPTS = re.compile(r"^mixes scripts: `[^`]+` has (Latin|Cyrillic|Greek)( and (Latin|Cyrillic|Greek))+ letters in one word")

# Name filters are cleaned as names are: white space and invisible (Default_Ignorable)
# characters go, and nothing left is a 400. The spec's pattern lists the invisible
# characters of the Basic Multilingual Plane; these, beyond it, a pattern without the `u`
# flag cannot: U+1BCA0-1BCA3, U+1D173-1D17A and U+E0000-E0FFF.
_BEYOND_BMP_INVISIBLE = re.compile("[\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0000-\U000E0FFF]")
_NAME_FILTER_PATTERN = re.compile(
    "[^\t-\r \x85\xa0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u2060-\u2065\u206a-\u206f"
    "\u3000\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]"
)
_NAME_FILTERS = {
    "/v1/people": ("q",),
    "/v1/meetings": ("person",),
    "/v1/export": ("person",),
    "/v1/stats/meetings": ("person",),
    "/v1/statements": ("speaker",),
}
_NAME_FILTER_REFUSALS = (
    "invalid query parameter `q`: give 1 to 300 characters",
    "invalid query parameter `person`: give a person's id, or a name of 1 to 300 characters",
    "invalid query parameter `speaker`: give a person's id, or a name of 1 to 300 characters",
)


def _only_invisible_beyond_bmp(case, problem):
    """A 400 for a name filter that satisfies its pattern only through invisible characters
    beyond the BMP."""
    if problem.get("status") != 400 or problem.get("detail") not in _NAME_FILTER_REFUSALS:
        return False
    query = case.query or {}
    for name in _NAME_FILTERS.get(case.operation.path, ()):
        values = query.get(name)
        for value in values if isinstance(values, list) else [values]:
            if (
                isinstance(value, str)
                and _NAME_FILTER_PATTERN.search(value)
                and not _NAME_FILTER_PATTERN.search(_BEYOND_BMP_INVISIBLE.sub("", value))
            ):
                return True
    return False


def _mixes_scripts(case, error):
    """Whether a field error is the mixed-scripts refusal of a word the request carries."""
    match = _MIXED_SCRIPTS.match(error.get("message", ""))
    if match is None:
        return False
    word = error["message"].split("`")[1]
    # Names are checked as stored: invisible characters dropped, then NFC-normalised.
    return any(word in _cleaned(text) for text in _strings(case.body))


# Default_Ignorable_Code_Point outside the format characters (Cf), which cleaning drops too.
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000E0100-\U000E01EF]")


def _cleaned(text):
    kept = "".join(c for c in _IGNORABLE.sub("", text) if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", kept)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_PEOPLE_EXPORT_ALONE = (
    "invalid query parameter `format`: people are exported as `ndjson` only",
    "the meetings' filters do not apply to `type=people`, which exports every person",
)


def _people_export_alone(case, detail):
    """The export's `type=people` takes no other parameter but `format=ndjson`: with
    another it is a 400, a rule between parameters that the spec states in prose."""
    query = case.query or {}
    return (
        case.operation.path == "/v1/export"
        and query.get("type") == "people"
        and len(query) > 1
        and detail in _PEOPLE_EXPORT_ALONE
    )


def _refused_for_state(case, problem):
    if problem.get("status") == 400:
        # A cursor is an opaque token made by the server (`cursor`, or the change feed's
        # `after`); a generated one is refused.
        detail = problem.get("detail", "")
        return (
            detail.startswith("invalid `cursor`")
            or detail.startswith("invalid `after`")
            or detail.startswith("`Last-Event-ID` is not an event id")
            or _only_invisible_beyond_bmp(case, problem)
            or _people_export_alone(case, detail)
        )
    if problem.get("status") == 422:
        errors = problem.get("errors") or []
        return bool(errors) and all(
            any(part in error.get("message", "") for part in _STATE_DEPENDENT) or _mixes_scripts(case, error)
            for error in errors
        )
    return False


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    code = getattr(failure, "code", None)
    if code == "ST201" and case.operation.path == "/v1/import" and not isinstance(case.body, str):
        # "A number instead of a string" as an import body: NDJSON on the wire has no
        # types, so such a body is just lines, each answered in the 200 report.
        return False
    if code == "ST301" and case.operation.path == "/v1/meetings/{id}/history":
        # The audit trail of a deleted meeting stays readable, ending with the deletion.
        return False
    if code == "ST203" and str(getattr(failure, "header_name", "")).lower() == "authorization":
        # The run sends its key on every request (`--header`), so a case "without" the
        # key still carries it; requests that truly lack one are answered 401 (covered
        # by tests/api/contract/ and tests/api/service/errors.rs).
        sent = getattr(getattr(response, "request", None), "headers", {}) or {}
        if any(name.lower() == "authorization" for name in sent):
            return False
    if code != "ST202":
        return True
    if any(value is None for value in (case.path_parameters or {}).values()):
        # A link schemathesis inferred carried a `null` (a participant with no
        # person) into a path, where it is sent as the text `None`.
        return False
    problem = _problem(response)
    if problem is None:
        return True
    token = _header(case, "chancery-consistency")
    if token is not None and not _TOKEN.fullmatch(token):
        # The coverage phase sends `0` as a "valid" token although it breaks the
        # parameter's pattern; the server's 400 is what the spec promises for it.
        return False
    if case.method == "PATCH" and _only(problem, "needs a `person_id`, a `name`, a `wikidata` id or an `organization`"):
        # Whether a patched participant still names someone depends on what it held.
        return False
    return not _refused_for_state(case, problem)


def _only(problem, message):
    errors = problem.get("errors") or []
    return problem.get("status") == 422 and bool(errors) and all(e.get("message") == message for e in errors)


def _header(case, name):
    for key, value in (case.headers or {}).items():
        if key.lower() == name:
            return value
    return None
