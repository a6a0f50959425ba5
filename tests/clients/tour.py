"""The README's tour with curl, through the Python client generated from openapi.yaml.

Run by tests/clients/run against a live service that loaded the sample meeting, with the
generated package `chancery_client` installed:

    python tour.py BASE_URL WRITE_KEY SEED_MEETING_JSON

It uses nothing but the generated client. Every answer must be documented (an undocumented
status raises), parse into the model the spec names for it (`.parsed` is that class), and
leave nothing in a model's untyped `additional_properties`, at any depth: a field the spec
forgot, or a schema the generator could not type, fails the tour.
"""

import copy
import datetime
import json
import sys
from http import HTTPStatus

import attrs
from chancery_client import AuthenticatedClient, Client
from chancery_client.api.agreements import (
    add_agreement,
    add_agreement_event,
    list_agreement_events,
    list_agreements,
    patch_agreement,
)
from chancery_client.api.countries import get_country, get_country_commitments, list_country_partners
from chancery_client.api.import_export import export_meetings, import_meetings
from chancery_client.api.meetings import (
    create_meeting,
    get_meeting,
    list_meeting_history,
    list_meetings,
    patch_meeting,
)
from chancery_client.api.people import list_people
from chancery_client.api.statements import list_statements
from chancery_client.models import (
    AgreementEvent,
    AgreementEventInput,
    AgreementEventList,
    AgreementFields,
    AgreementInput,
    AgreementKind,
    AgreementListItem,
    AgreementPage,
    AgreementPatch,
    AgreementStatus,
    ChangeAction,
    ChangePage,
    CommitmentRecord,
    Country,
    ExportMeetingsFormat,
    ImportLineWritten,
    ImportLineWrittenStatus,
    ImportMeetingsMode,
    ImportReport,
    KeyRef,
    MeetingDocument,
    MeetingExport,
    MeetingInput,
    MeetingPage,
    MeetingPatch,
    PartnerList,
    PersonPage,
    Problem,
    Sort,
    SourceInput,
    StatementListItem,
    StatementPage,
)
from chancery_client.types import UNSET, Response

# Names of attributes that hold what the generator could not type.
EXTRAS = "additional_properties"


def untyped(value, path="$"):
    """Every place under `value` where the generated models left data untyped: keys in a
    model's `additional_properties`, or a raw dict where the field's type names a model
    (a union the client could not parse falls back to the raw data). Only fields the
    spec leaves free (typed `Any`) may hold raw JSON."""
    found = []
    if attrs.has(type(value)):
        extras = getattr(value, EXTRAS, None)
        if extras:
            found.append(f"{path} ({type(value).__name__}): {sorted(extras)}")
        for field in attrs.fields(type(value)):
            if field.name != EXTRAS and field.type != "Any":
                found += untyped(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, dict):
        found.append(f"{path}: raw JSON where a model was expected: {sorted(value)}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found += untyped(item, f"{path}[{index}]")
    return found


def answer(response: Response, status: int, model: type):
    """The parsed body of `response`, checked: the status, the model, no untyped extras."""
    parsed = response.parsed
    context = f"{response.status_code} {response.content[:300]!r}"
    assert response.status_code == status, f"expected {status}, got {context}"
    assert isinstance(parsed, model), f"expected a {model.__name__}, got {type(parsed).__name__}: {context}"
    leftovers = untyped(parsed)
    assert not leftovers, "untyped fields in the answer:\n  " + "\n  ".join(leftovers)
    return parsed


def step(text):
    print(f"-- {text}", flush=True)


def main(base, key, seed_path):
    reader = Client(base_url=base, raise_on_unexpected_status=True)
    writer = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
    with open(seed_path, encoding="utf-8") as file:
        seed = json.load(file)

    # The checker itself: an unknown field lands in the extras and is reported.
    probe = StatementListItem.from_dict(
        {
            "id": "01a21bde-7f9d-768f-b7cb-bf923336e68e",
            "meeting_id": "01a21bde-7f9d-768f-b7cb-bf923336e68e",
            "speaker": None,
            "text": "t",
            "kind": "quote",
            "language": None,
            "topics": [],
            "source": None,
            "meeting": {"id": "01a21bde-7f9d-768f-b7cb-bf923336e68e", "title": "m", "date": "2021-10-12"},
            "surprise": 1,
        }
    )
    probe.meeting = {"title": "m"}
    assert untyped([probe]) == [
        "$[0] (StatementListItem): ['surprise']",
        "$[0].meeting: raw JSON where a model was expected: ['title']",
    ], untyped([probe])

    step("the sample meeting, loaded on first start")
    page = answer(list_meetings.sync_detailed(client=reader), HTTPStatus.OK, MeetingPage)
    assert [item.title for item in page.items] == [seed["title"]], page.items
    assert page.items[0].countries == ["CUB", "RUS"]

    step("the document round-trips through the typed input model")
    document = MeetingInput.from_dict(seed)
    assert document.to_dict() == seed, "MeetingInput drops or changes fields of data/seed-meeting.json"

    step("creating it again: its identifier is taken (409, a typed problem)")
    taken = answer(create_meeting.sync_detailed(client=writer, body=document), HTTPStatus.CONFLICT, Problem)
    assert taken.status == 409 and taken.instance == "/v1/meetings", taken

    step("create the meeting (a new identifier) and three more between Cuba and Russia")
    created = []
    for index, day in enumerate(["2021-10-13", "2019-05-20", "2017-03-01", "2015-11-11"]):
        doc = copy.deepcopy(seed)
        doc["date"] = day
        doc["title"] = f"{seed['title']} ({day})"
        doc["identifiers"] = [{"scheme": "tour", "value": str(index)}]
        response = create_meeting.sync_detailed(client=writer, body=MeetingInput.from_dict(doc))
        meeting = answer(response, HTTPStatus.CREATED, MeetingDocument)
        assert response.headers["location"] == f"/v1/meetings/{meeting.id}"
        assert response.headers["etag"] == '"1"' and meeting.version == 1
        assert len(meeting.participants) == 4 and len(meeting.statements) == 4
        assert meeting.statements[0].speaker.name == "Miguel Díaz-Canel"
        created.append(meeting)
    meeting = created[0]

    step("every meeting between Cuba and Russia since 2015, two to a page")
    titles, cursor, pages = [], UNSET, 0
    while True:
        response = list_meetings.sync_detailed(
            client=reader,
            country=["cu", "RUS"],
            from_=datetime.date(2015, 1, 1),
            limit=2,
            cursor=cursor,
            include_total=True,
        )
        page = answer(response, HTTPStatus.OK, MeetingPage)
        pages += 1
        assert page.total == 5, page.total
        titles += [item.title for item in page.items]
        assert all(item.countries == ["CUB", "RUS"] for item in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3 and len(titles) == 5 == len(set(titles)), (pages, titles)
    assert titles[0] == created[0].title and titles[-1] == created[-1].title, titles

    step("what Díaz-Canel said about international law")
    response = list_statements.sync_detailed(
        client=reader, speaker="miguel diaz-canel", q='"international law"', limit=1
    )
    found = answer(response, HTTPStatus.OK, StatementPage)
    hit = found.items[0]
    assert isinstance(hit, StatementListItem)
    assert hit.speaker.name == "Miguel Díaz-Canel"
    assert "«international» «law»" in hit.headline and isinstance(hit.rank, float), hit
    assert hit.meeting.title.startswith("Díaz-Canel meets"), hit.meeting

    step("pledges due by the end of 2021 that are still only agreed")
    response = list_agreements.sync_detailed(
        client=reader,
        kind=[AgreementKind.PLEDGE],
        due_before=datetime.date(2021, 12, 31),
        status=[AgreementStatus.AGREED],
    )
    pledges = answer(response, HTTPStatus.OK, AgreementPage)
    assert len(pledges.items) == 5, [item.title for item in pledges.items]
    for item in pledges.items:
        assert isinstance(item, AgreementListItem)
        assert item.kind == AgreementKind.PLEDGE and item.status == AgreementStatus.AGREED
        assert item.due_by <= datetime.date(2021, 12, 31) and item.parties == ["RUS"]
        assert item.meeting.title.startswith("Díaz-Canel meets"), item.meeting

    step("edit the meeting with If-Match: the ETag read first, then a stale one")
    read = get_meeting.sync_detailed(meeting.id, client=reader)
    answer(read, HTTPStatus.OK, MeetingDocument)
    etag = read.headers["etag"]
    patched = answer(
        patch_meeting.sync_detailed(
            meeting.id, client=writer, body=MeetingPatch(end_date=datetime.date(2021, 10, 14)), if_match=etag
        ),
        HTTPStatus.OK,
        MeetingDocument,
    )
    assert patched.end_date == datetime.date(2021, 10, 14) and patched.version == 2
    stale = patch_meeting.sync_detailed(
        meeting.id, client=writer, body=MeetingPatch(summary="Too late."), if_match=etag
    )
    answer(stale, HTTPStatus.PRECONDITION_FAILED, Problem)
    unchanged = get_meeting.sync_detailed(meeting.id, client=reader, if_none_match=f'"{patched.version}"')
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED, unchanged.status_code

    step("an agreement added, then marked fulfilled")
    added = answer(
        add_agreement.sync_detailed(
            meeting.id,
            client=writer,
            body=AgreementInput(title="Joint declaration", kind=AgreementKind.JOINT_DECLARATION, parties=["CU", "RU"]),
        ),
        HTTPStatus.CREATED,
        AgreementFields,
    )
    fulfilled = answer(
        patch_agreement.sync_detailed(added.id, client=writer, body=AgreementPatch(status=AgreementStatus.FULFILLED)),
        HTTPStatus.OK,
        AgreementFields,
    )
    assert fulfilled.status == AgreementStatus.FULFILLED and fulfilled.parties == ["CUB", "RUS"]

    step("the meeting's history")
    history = answer(list_meeting_history.sync_detailed(meeting.id, client=reader), HTTPStatus.OK, ChangePage)
    actions = sorted((change.resource.value, change.action.value) for change in history.items)
    assert actions == [
        ("agreement", "create"),
        ("agreement", "update"),
        ("meeting", "create"),
        ("meeting", "update"),
    ], actions
    for change in history.items:
        assert isinstance(change.key, KeyRef) and change.key.name == "tour", change.key
    assert any(c.action == ChangeAction.UPDATE and c.request == {"end_date": "2021-10-14"} for c in history.items)

    step("Cuba's partners, and the people named like diaz")
    partners = answer(list_country_partners.sync_detailed("CUB", client=reader), HTTPStatus.OK, PartnerList)
    assert [(p.country, p.meetings) for p in partners.items] == [("RUS", 5)], partners.items
    cuba = answer(get_country.sync_detailed("cu", client=reader), HTTPStatus.OK, Country)
    assert cuba.code == "CUB" and cuba.meetings == 5
    people = answer(list_people.sync_detailed(client=reader, q="diaz"), HTTPStatus.OK, PersonPage)
    assert [(p.name, p.country, p.meeting_count) for p in people.items] == [("Miguel Díaz-Canel", "CUB", 5)]

    step("the seed pledge marked fulfilled with a source, then the overdue list and Russia's record")
    overdue = answer(list_agreements.sync_detailed(client=reader, overdue=True), HTTPStatus.OK, AgreementPage)
    assert len(overdue.items) == 5, [item.title for item in overdue.items]
    pledge = next(item for item in pledges.items if item.meeting.date == datetime.date(2021, 10, 12))
    event = answer(
        add_agreement_event.sync_detailed(
            pledge.id,
            client=writer,
            body=AgreementEventInput(
                status=AgreementStatus.FULFILLED,
                on=datetime.date(2021, 12, 20),
                note="The second shipment of humanitarian aid reached Havana.",
                source=SourceInput(
                    url="https://example.org/russian-aid-arrives-in-havana",
                    title="Russian aid arrives in Havana",
                    published_on=datetime.date(2021, 12, 21),
                ),
            ),
        ),
        HTTPStatus.CREATED,
        AgreementEvent,
    )
    assert event.status == AgreementStatus.FULFILLED and event.source.title == "Russian aid arrives in Havana", event
    events = answer(list_agreement_events.sync_detailed(pledge.id, client=reader), HTTPStatus.OK, AgreementEventList)
    assert [(e.status, e.on) for e in events.items] == [
        (AgreementStatus.AGREED, datetime.date(2021, 10, 12)),
        (AgreementStatus.FULFILLED, datetime.date(2021, 12, 20)),
    ], events.items
    overdue = answer(list_agreements.sync_detailed(client=reader, overdue=True), HTTPStatus.OK, AgreementPage)
    assert pledge.id not in [item.id for item in overdue.items] and len(overdue.items) == 4
    as_of = answer(
        list_agreements.sync_detailed(client=reader, as_of=datetime.date(2021, 12, 1), kind=[AgreementKind.PLEDGE]),
        HTTPStatus.OK,
        AgreementPage,
    )
    assert {item.status_as_of for item in as_of.items} == {AgreementStatus.AGREED}, as_of.items
    record = answer(get_country_commitments.sync_detailed("RUS", client=reader), HTTPStatus.OK, CommitmentRecord)
    assert (record.country, record.fulfilled, record.overdue) == ("RUS", 1, 4), record
    assert record.median_days_to_fulfil == 69.0 and record.fulfilment_rate == 0.2, record

    step("a mistake comes back as a typed problem naming the field")
    bad = MeetingInput(title="Talks", date=datetime.date(2024, 5, 2), host_country="XX")
    problem = answer(create_meeting.sync_detailed(client=writer, body=bad), HTTPStatus.UNPROCESSABLE_ENTITY, Problem)
    assert [error.field for error in problem.errors] == ["host_country"], problem.errors

    step("import a document (one NDJSON line), then again with mode=upsert")
    line = copy.deepcopy(seed)
    line["identifiers"] = [{"scheme": "tour", "value": "imported"}]
    line["date"] = "2014-07-11"
    for mode, status in [(ImportMeetingsMode.INSERT, "created"), (ImportMeetingsMode.UPSERT, "unchanged")]:
        response = import_meetings.sync_detailed(client=writer, body=MeetingInput.from_dict(line), mode=mode)
        report = answer(response, HTTPStatus.OK, ImportReport)
        assert report.totals.lines == 1 and report.totals.failed == 0, report.totals
        (result,) = report.items
        assert isinstance(result, ImportLineWritten) and result.status == ImportLineWrittenStatus(status), result

    step("export: every line is a typed MeetingExport that imports again")
    exported = export_meetings.sync_detailed(client=reader, format_=ExportMeetingsFormat.NDJSON, sort=Sort.DATE)
    assert exported.status_code == HTTPStatus.OK and isinstance(exported.parsed, str)
    lines = [json.loads(text) for text in exported.parsed.splitlines() if text]
    assert len(lines) == 6, len(lines)
    for number, data in enumerate(lines, 1):
        parsed = MeetingExport.from_dict(data)
        assert parsed.to_dict() == data, f"line {number}: MeetingExport drops or changes fields"
        assert MeetingInput.from_dict(data).to_dict() == data, f"line {number}: not a MeetingInput"
    assert lines[0]["date"] == "2014-07-11", lines[0]["date"]

    print("tour: every answer parsed into its typed model, with nothing left untyped")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
