// Type-checked by tests/clients/run beside `api.d.ts`, the types openapi-typescript
// generates from openapi.yaml: the types a client would use must be real types, neither
// `unknown` nor so narrow that a valid document does not fit. Each `@ts-expect-error`
// must find an error, so a schema that became `unknown` or `any` fails too.
import type { components, paths } from "./api";

type Schemas = components["schemas"];

const host: Schemas["ParticipantInput"] = { name: "Miguel Díaz-Canel", role: "President of Cuba", country: "CUB", side: "host" };
const body: Schemas["ParticipantInput"] = { organization: "Russian-Cuban Intergovernmental Commission", side: null };
const quote: Schemas["DocumentStatementInput"] = {
    speaker_participant: 0,
    kind: "quote",
    language: "en",
    topics: ["international-law"],
    text: "Our alliance is strategic because we share the same principles about international law and justice.",
};
const meeting: Schemas["MeetingInput"] = {
    title: "Díaz-Canel meets Russian Deputy Prime Minister Borisov in Havana",
    date: "2021-10-12",
    kind: "bilateral",
    location: { city: "Havana", country: "CU", lat: 23.1136, lon: -82.3666 },
    participants: [host, body],
    statements: [quote],
    agreements: [{ title: "Russia sends another humanitarian aid shipment to Cuba", kind: "pledge", parties: ["RUS"], due_by: "2021-12-31" }],
    identifiers: [{ scheme: "chancery-sample", value: "cub-rus-2021-10-12" }],
};

// One line of an import is a meeting document, whichever line-delimited type carries it.
type ImportBody = NonNullable<paths["/v1/import"]["post"]["requestBody"]>["content"];
const line: ImportBody["application/x-ndjson"] = meeting;
const jsonLine: ImportBody["application/jsonl"] = meeting;

const added: Schemas["StatementInput"] = { participant_id: "01a21bde-7f9d-768f-b7cb-bf923336e68e", text: "Thank you." };
const patch: Schemas["StatementPatch"] = { speaker_name: "Yuri Borisov" };

// List items carry their meeting and the search's headline and rank, typed.
function describe(item: Schemas["StatementListItem"], agreement: Schemas["AgreementListItem"]): string {
    const rank: number | undefined = item.rank;
    return `${item.meeting.title} ${item.headline ?? ""} ${rank ?? 0} ${item.text} ${agreement.meeting.date} ${agreement.title}`;
}

function outcome(result: Schemas["ImportLine"]): string {
    return "error" in result ? result.error : result.status;
}

// An export line is a meeting document, with `type=people` a person with their roles, or
// with `format=plover` a PLOVER event record.
type ExportLine = paths["/v1/export"]["get"]["responses"][200]["content"]["application/x-ndjson"];
function exported(doc: ExportLine): Schemas["MeetingInput"] | Schemas["PersonRecord"] | Schemas["PloverRecord"] {
    return doc;
}

// A PLOVER record's actors are entities with an optional country code and Wikidata id.
function plover(record: Schemas["PloverRecord"]): string {
    const actors = record.actor.map((a) => `${a.code ?? "?"}:${a.identifier_id ?? ""}`);
    return `${record.event} ${record.mode ?? ""} ${record.cameo} ${actors.join(",")} ${record.link}`;
}

// @ts-expect-error: a statement has no `colour`
const unknownField: Schemas["StatementInput"] = { text: "x", colour: "red" };
// @ts-expect-error: `side` is one of four words
const badSide: Schemas["ParticipantInput"] = { name: "x", side: "referee" };
// @ts-expect-error: a list item's meeting is an object
const badMeeting: Schemas["AgreementListItem"]["meeting"] = "Havana";

export { added, patch, line, jsonLine, describe, outcome, exported, plover, unknownField, badSide, badMeeting };
