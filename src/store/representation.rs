//! The one copy of each representation: the SQL expression that builds a resource's
//! JSON where its data is. The meeting document embeds the very expressions that an
//! item's own `GET`, the lists and the export use, so bodies and the `ETag`s hashed from
//! them cannot disagree. (Written into each query rather than kept as SQL functions: a
//! function whose body holds subqueries is planned again at every call, an expression
//! in a prepared query once; for documents that measured 2.4 times the throughput.)
//!
//! Each fragment is a macro so that the larger ones are assembled with `concat!` at
//! compile time; the constants are what the rest of the store uses.

/// Where meeting `m` took place, or null.
macro_rules! location {
    () => {
        "CASE WHEN m.city IS NULL AND m.location_country IS NULL AND m.venue IS NULL
                   AND m.lat IS NULL AND m.lon IS NULL THEN NULL
              ELSE json_build_object('city', m.city, 'country', m.location_country,
                                     'venue', m.venue, 'lat', m.lat, 'lon', m.lon) END"
    };
}

/// Meeting `m`'s own fields from its title to its host, as `key, value` pairs, in the
/// order the document and the export both write them.
macro_rules! meeting_head {
    () => {
        concat!(
            "'title', m.title, 'summary', m.summary, 'kind', m.kind, 'date', m.date,
             'end_date', m.end_date, 'start_time', m.start_time, 'location', ",
            location!(),
            ", 'host_country', m.host_country"
        )
    };
}

/// The sources of meeting `m`, in order.
macro_rules! sources {
    () => {
        "coalesce((SELECT json_agg(json_build_object('url', so.url, 'title', so.title,
                                   'publisher', so.publisher, 'published_on', so.published_on)
                                   ORDER BY so.position)
                   FROM sources so WHERE so.meeting_id = m.id), '[]')"
    };
}

/// The identifiers of meeting `m`, in order.
macro_rules! identifiers {
    () => {
        "coalesce((SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value)
                                   ORDER BY i.position)
                   FROM meeting_identifiers i WHERE i.meeting_id = m.id), '[]')"
    };
}

/// The roles participant `p`'s person may have held on the day of the meeting, each
/// `certain` or not: derived when read, never stored with the meeting.
macro_rules! roles_held {
    () => {
        "coalesce((SELECT json_agg(json_build_object(
                              'role_id', r.id, 'title', r.title, 'kind', r.kind,
                              'posted_to', r.posted_to, 'organization', r.organization,
                              'certain', r.surely_held @> held_on.date)
                          ORDER BY r.position, r.id)
                     FROM meetings held_on JOIN roles r ON r.person_id = p.person_id AND r.held @> held_on.date
                    WHERE held_on.id = p.meeting_id AND p.person_id IS NOT NULL), '[]')"
    };
}

/// Participant `p`.
macro_rules! participant {
    () => {
        concat!(
            "json_build_object(
            'id', p.id,
            'meeting_id', p.meeting_id,
            'person', (SELECT json_build_object('id', pe.id, 'name', pe.name) FROM people pe WHERE pe.id = p.person_id),
            'role', p.role,
            'country', p.country,
            'organization', p.organization,
            'side', p.side,
            'roles_held', ",
            roles_held!(),
            ")"
        )
    };
}

/// Where statement `s` was reported, or null.
macro_rules! statement_source {
    () => {
        "CASE WHEN s.source_url IS NULL AND s.source_title IS NULL AND s.source_publisher IS NULL
                   AND s.source_published_on IS NULL THEN NULL
              ELSE json_build_object('url', s.source_url, 'title', s.source_title,
                                     'publisher', s.source_publisher, 'published_on', s.source_published_on) END"
    };
}

/// Statement `s`.
macro_rules! statement {
    () => {
        concat!(
            "json_build_object(
            'id', s.id,
            'meeting_id', s.meeting_id,
            'speaker', CASE WHEN s.participant_id IS NULL AND s.person_id IS NULL AND s.speaker_name IS NULL THEN NULL
                       ELSE json_build_object(
                           'participant_id', s.participant_id,
                           'person_id', s.person_id,
                           'name', coalesce((SELECT pe.name FROM people pe WHERE pe.id = s.person_id),
                                            (SELECT p.organization FROM participants p WHERE p.id = s.participant_id),
                                            s.speaker_name)) END,
            'text', s.text,
            'kind', s.kind,
            'language', s.language,
            'topics', s.topics,
            'source', ",
            statement_source!(),
            ")"
        )
    };
}

/// Statement `$1`'s meeting and position, and the statement as an input (what a merge
/// patch applies to), locked for the update.
pub const STATEMENT_FOR_UPDATE: &str = concat!(
    "SELECT meeting_id, position, jsonb_build_object(
        'participant_id', participant_id, 'person_id', person_id, 'speaker_name', speaker_name,
        'text', text, 'kind', kind, 'language', language, 'topics', topics,
        'source', ",
    statement_source!(),
    ") FROM statements s WHERE id = $1 FOR UPDATE"
);

/// Agreement `a`.
macro_rules! agreement {
    () => {
        "json_build_object(
            'id', a.id,
            'meeting_id', a.meeting_id,
            'title', a.title,
            'description', a.description,
            'kind', a.kind,
            'status', a.status,
            'parties', a.parties,
            'topics', a.topics,
            'signed_on', a.signed_on,
            'due_by', a.due_by,
            'relates_to', coalesce((SELECT json_agg(json_build_object(
                                               'agreement_id', l.target_id, 'relation', l.relation)
                                           ORDER BY l.position)
                                      FROM agreement_links l WHERE l.agreement_id = a.id), '[]'),
            'related_from', coalesce((SELECT json_agg(json_build_object(
                                                 'agreement_id', l.agreement_id, 'relation', l.relation)
                                             ORDER BY l.agreement_id, l.position)
                                        FROM agreement_links l WHERE l.target_id = a.id), '[]'))"
    };
}

/// Where agreement event `e` was reported, or null.
macro_rules! event_source {
    () => {
        "CASE WHEN e.source_url IS NULL AND e.source_title IS NULL AND e.source_publisher IS NULL
                   AND e.source_published_on IS NULL THEN NULL
              ELSE json_build_object('url', e.source_url, 'title', e.source_title,
                                     'publisher', e.source_publisher, 'published_on', e.source_published_on) END"
    };
}

/// Agreement event `e`'s own fields, as `key, value` pairs: what clients send, and the
/// export writes.
macro_rules! event_fields {
    () => {
        concat!(
            "'status', e.status, 'on', e.occurred_on, 'note', e.note, 'source', ",
            event_source!(),
            ", 'meeting_id', e.meeting_id"
        )
    };
}

/// Agreement event `e`.
macro_rules! agreement_event {
    () => {
        concat!(
            "json_build_object('id', e.id, 'agreement_id', e.agreement_id, ",
            event_fields!(),
            ", 'recorded_at', e.recorded_at)"
        )
    };
}

/// Event `$1`.
pub const AGREEMENT_EVENT_BY_ID: &str = concat!(
    "SELECT ",
    agreement_event!(),
    "::text FROM agreement_events e WHERE e.id = $1"
);

/// Agreement `$1`'s events, oldest first (by date, then as recorded), as a JSON array;
/// no row when there is no such agreement.
pub const AGREEMENT_EVENTS: &str = concat!(
    "SELECT coalesce((SELECT json_agg(",
    agreement_event!(),
    " ORDER BY e.occurred_on, e.seq) FROM agreement_events e WHERE e.agreement_id = a.id), '[]')::text
       FROM agreements a WHERE a.id = $1"
);

/// The status agreement `a` had at the end of the day the caller binds next: its latest
/// event by then, or null before it was made. The caller closes it with `)`.
pub const STATUS_AS_OF_OPEN: &str = "(SELECT e.status FROM agreement_events e
      WHERE e.agreement_id = a.id AND e.occurred_on <= ";
/// What closes `STATUS_AS_OF_OPEN` after its date.
pub const STATUS_AS_OF_CLOSE: &str = " ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1)";

/// Agreement `$1`'s meeting, and the agreement as an input (its fields without the
/// ids, what a merge patch applies to), locked for the update.
pub const AGREEMENT_FOR_UPDATE: &str = concat!(
    "SELECT meeting_id, (",
    agreement!(),
    "::jsonb - 'id' - 'meeting_id' - 'related_from') FROM agreements a WHERE id = $1 FOR UPDATE"
);

/// The meeting an item belongs to, as list items show it: meeting `m`'s id, title and
/// date.
macro_rules! meeting_stub {
    () => {
        "json_build_object('id', m.id, 'title', m.title, 'date', m.date)"
    };
}

/// Statement `s` as the statements list shows it, with its meeting `m`, as jsonb that is
/// still open: the caller adds more keys (`, 'rank', …`) and closes it with `))`.
pub const STATEMENT_ITEM_OPEN: &str = concat!(
    "(",
    statement!(),
    "::jsonb || jsonb_build_object('meeting', ",
    meeting_stub!()
);

/// Agreement `a` as the agreements list shows it, with its meeting `m`, as jsonb.
pub const AGREEMENT_ITEM: &str = concat!(
    "(",
    agreement!(),
    "::jsonb || jsonb_build_object('meeting', ",
    meeting_stub!(),
    "))"
);

/// Role `r`'s own fields, as `key, value` pairs: what clients send, and the export writes.
macro_rules! role_fields {
    () => {
        "'title', r.title, 'kind', r.kind, 'serves', r.serves, 'posted_to', r.posted_to,
         'organization', r.organization, 'appointed_on', r.appointed_on,
         'started_on', r.started_on, 'ended_on', r.ended_on, 'end_note', r.end_note,
         'source', r.source"
    };
}

/// Role `r`.
macro_rules! role {
    () => {
        concat!(
            "json_build_object('id', r.id, 'person_id', r.person_id, ",
            role_fields!(),
            ")"
        )
    };
}

/// The identifiers of person `pe`, in order.
macro_rules! person_identifiers {
    () => {
        "coalesce((SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value)
                                   ORDER BY i.scheme, i.value)
                   FROM person_identifiers i WHERE i.person_id = pe.id), '[]')"
    };
}

/// Person `pe`, with their roles.
macro_rules! person {
    () => {
        concat!(
            "json_build_object(
            'id', pe.id,
            'name', pe.name,
            'aliases', pe.aliases,
            'country', pe.country,
            'identifiers', ",
            person_identifiers!(),
            ",
            'born', pe.born,
            'died', pe.died,
            'roles', coalesce((SELECT json_agg(",
            role!(),
            " ORDER BY r.position, r.id) FROM roles r WHERE r.person_id = pe.id), '[]'),
            'meeting_count', (SELECT count(DISTINCT p.meeting_id) FROM participants p WHERE p.person_id = pe.id))"
        )
    };
}

pub const PERSON: &str = person!();

/// Person `$1` as an input (without the id and the count, what a merge patch applies
/// to), locked for the update.
pub const PERSON_FOR_UPDATE: &str = concat!(
    "SELECT (",
    person!(),
    "::jsonb - 'id' - 'meeting_count' - 'roles') FROM people pe WHERE pe.id = $1 FOR NO KEY UPDATE"
);

/// Person `pe` as a line of the people export, which the people import takes: no ids,
/// no counts, their roles in order.
macro_rules! person_record {
    () => {
        concat!(
            "json_build_object(
            'name', pe.name,
            'aliases', pe.aliases,
            'country', pe.country,
            'identifiers', ",
            person_identifiers!(),
            ",
            'born', pe.born,
            'died', pe.died,
            'roles', coalesce((SELECT json_agg(json_build_object(",
            role_fields!(),
            ") ORDER BY r.position, r.id) FROM roles r WHERE r.person_id = pe.id), '[]'))"
        )
    };
}

pub const PERSON_RECORD: &str = person_record!();

/// Person `$1` as a line of the people export, as jsonb.
pub const PERSON_RECORD_BY_ID: &str = concat!(
    "SELECT (",
    person_record!(),
    ")::jsonb FROM people pe WHERE pe.id = $1"
);

/// Role `r` as the roles list shows it, with its person `pe`, as jsonb that is still
/// open: the caller adds `, 'certain', …` and closes it with `))`.
pub const ROLE_ITEM_OPEN: &str = concat!(
    "(",
    role!(),
    "::jsonb || jsonb_build_object('person', json_build_object('id', pe.id, 'name', pe.name)"
);

/// Role `$1`'s person, and the role as an input (what a merge patch applies to),
/// locked for the update.
pub const ROLE_FOR_UPDATE: &str = concat!(
    "SELECT person_id, json_build_object(",
    role_fields!(),
    ")::jsonb FROM roles r WHERE id = $1 FOR UPDATE"
);

/// Meeting `m` as a list item: without statements and agreements, with who took part
/// (kept up to date by triggers in `meeting_participant_summaries`).
pub const SUMMARY: &str = concat!(
    "json_build_object(
    'id', m.id,
    'title', m.title,
    'summary', m.summary,
    'kind', m.kind,
    'date', m.date,
    'end_date', m.end_date,
    'location', ",
    location!(),
    ",
    'host_country', m.host_country,
    'countries', m.countries,
    'topics', m.topics,
    'participants', coalesce((SELECT s.participants FROM meeting_participant_summaries s
                              WHERE s.meeting_id = m.id), '[]'),
    'version', m.version)"
);

/// How many times the roles of meeting `m`'s participants' people have changed, all
/// told: what the document's `roles_held` depend on besides the meeting.
macro_rules! roles_stamp {
    () => {
        "(SELECT coalesce(sum(pe.roles_version), 0)::bigint
            FROM participants p JOIN people pe ON pe.id = p.person_id
           WHERE p.meeting_id = m.id)"
    };
}

/// Meeting `$1`'s version and roles stamp (see `roles_stamp!`): what its `ETag` says.
pub const STAMP_QUERY: &str = concat!(
    "SELECT m.version, ",
    roles_stamp!(),
    " FROM meetings m WHERE m.id = $1"
);

/// The whole document of meeting `$1`, its version and its roles stamp.
pub const DOCUMENT_QUERY: &str = concat!(
    "SELECT json_build_object(
        'id', m.id, ",
    meeting_head!(),
    ",
        'countries', m.countries,
        'topics', m.topics,
        'participants', coalesce((SELECT json_agg(",
    participant!(),
    " ORDER BY p.position, p.id)
                                  FROM participants p WHERE p.meeting_id = m.id), '[]'),
        'statements', coalesce((SELECT json_agg(",
    statement!(),
    " ORDER BY s.position, s.id)
                                FROM statements s WHERE s.meeting_id = m.id), '[]'),
        'agreements', coalesce((SELECT json_agg(",
    agreement!(),
    " ORDER BY a.position, a.id)
                                FROM agreements a WHERE a.meeting_id = m.id), '[]'),
        'sources', ",
    sources!(),
    ",
        'identifiers', ",
    identifiers!(),
    ",
        'created_at', m.created_at,
        'updated_at', m.updated_at,
        'version', m.version)::text,
        m.version, ",
    roles_stamp!(),
    "
     FROM meetings m WHERE m.id = $1"
);

/// Meeting `m` as a document clients can `POST` or import: people by name, speakers by
/// their index among the participants; the meeting's and agreements' ids, which a
/// document keeps while they are free, so that links and events naming them hold.
/// Export → import → export gives the same documents.
pub const EXPORT: &str = concat!(
    "json_build_object('id', m.id, ",
    meeting_head!(),
    ",
        'topics', m.topics,
        'participants', coalesce((
            SELECT json_agg(json_build_object(
                       'name', pe.name, 'organization', p.organization, 'role', p.role,
                       'country', p.country, 'side', p.side)
                   ORDER BY p.position, p.id)
              FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
             WHERE p.meeting_id = m.id), '[]'),
        'statements', coalesce((
            SELECT json_agg(json_build_object(
                       'speaker_participant', speaker.index,
                       'speaker_name', CASE WHEN speaker.index IS NULL
                                            THEN coalesce(pe.name, s.speaker_name) END,
                       'text', s.text, 'kind', s.kind, 'language', s.language, 'topics', s.topics,
                       'source', ",
    statement_source!(),
    ")
                   ORDER BY s.position, s.id)
              FROM statements s
              LEFT JOIN people pe ON pe.id = s.person_id
              LEFT JOIN LATERAL (
                  SELECT (SELECT count(*) FROM participants earlier
                           WHERE earlier.meeting_id = p.meeting_id
                             AND (earlier.position, earlier.id) < (p.position, p.id))::int AS index
                    FROM participants p WHERE p.id = s.participant_id) speaker ON true
             WHERE s.meeting_id = m.id), '[]'),
        'agreements', coalesce((
            SELECT json_agg(",
    agreement!(),
    "::jsonb - 'meeting_id' - 'related_from'
                   || jsonb_build_object('events', (SELECT json_agg(json_build_object(",
    event_fields!(),
    ") ORDER BY e.occurred_on, e.seq) FROM agreement_events e WHERE e.agreement_id = a.id))
                   ORDER BY a.position, a.id)
              FROM agreements a WHERE a.meeting_id = m.id), '[]'),
        'sources', ",
    sources!(),
    ",
        'identifiers', ",
    identifiers!(),
    ")"
);

/// The query answering the JSON text of row `$1` of `table`, built by `json`.
macro_rules! by_id {
    ($json:expr, $table:literal) => {
        concat!("SELECT ", $json, "::text FROM ", $table, " WHERE id = $1")
    };
}

/// One participant, statement, agreement, person or role by id (`$1`).
pub const PARTICIPANT_BY_ID: &str = by_id!(participant!(), "participants p");
pub const STATEMENT_BY_ID: &str = by_id!(statement!(), "statements s");
pub const AGREEMENT_BY_ID: &str = by_id!(agreement!(), "agreements a");
pub const PERSON_BY_ID: &str = by_id!(person!(), "people pe");
pub const ROLE_BY_ID: &str = by_id!(role!(), "roles r");
