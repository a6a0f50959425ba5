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

/// Which side of meeting `m` acts in event data: the guests when some are known (they
/// visit), else the hosts when only they are (they host), else none.
macro_rules! acting_side {
    () => {
        "(CASE WHEN EXISTS (SELECT 1 FROM participants g WHERE g.meeting_id = m.id AND g.side = 'guest') THEN 'guest'
               WHEN EXISTS (SELECT 1 FROM participants h WHERE h.meeting_id = m.id AND h.side = 'host') THEN 'host' END)"
    };
}

/// Whether meeting `m`, with no sides known, took place on ground none of its
/// participants' countries holds.
macro_rules! on_third_ground {
    () => {
        "(coalesce(m.location_country, m.host_country) IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM participants s WHERE s.meeting_id = m.id AND s.side IN ('guest', 'host'))
          AND EXISTS (SELECT 1 FROM participants c WHERE c.meeting_id = m.id AND c.country IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM participants c WHERE c.meeting_id = m.id
                             AND c.country = coalesce(m.location_country, m.host_country)))"
    };
}

/// The CAMEO code of meeting `m` (a 04 "consult"), derived when read: 041 for a call,
/// 044 on third ground, 042 when guests visit, 043 when only hosts are known, 040
/// otherwise.
macro_rules! meeting_cameo {
    ($side:expr, $third:expr) => {
        concat!(
            "CASE WHEN m.kind IN ('phone_call', 'video_call') THEN '041' WHEN ",
            $third,
            " THEN '044' WHEN ",
            $side,
            " = 'guest' THEN '042' WHEN ",
            $side,
            " = 'host' THEN '043' ELSE '040' END"
        )
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
                                        FROM agreement_links l WHERE l.target_id = a.id), '[]'),
            'cameo', agreement_cameo(a.kind, a.status, a.signed_on, a.topics))"
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

/// The status agreement `{k}.id` had at the end of the day the caller binds next: its
/// latest event by then, or null before it was made. The caller closes it with
/// `STATUS_AS_OF_CLOSE`.
pub fn status_as_of_open(k: &str) -> String {
    format!(
        "(SELECT e.status FROM agreement_events e
          WHERE e.agreement_id = {k}.id AND e.occurred_on <= "
    )
}
/// What closes `status_as_of_open` after its date.
pub const STATUS_AS_OF_CLOSE: &str = " ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1)";

/// Agreement `$1`'s meeting, and the agreement as an input (its fields without the
/// ids, what a merge patch applies to), locked for the update.
pub const AGREEMENT_FOR_UPDATE: &str = concat!(
    "SELECT meeting_id, (",
    agreement!(),
    "::jsonb - 'id' - 'meeting_id' - 'related_from' - 'cameo') FROM agreements a WHERE id = $1 FOR UPDATE"
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
        'cameo', ",
    meeting_cameo!(acting_side!(), on_third_ground!()),
    ",
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
            SELECT json_agg(CASE WHEN qid.value IS NULL
                       THEN json_build_object(
                           'name', pe.name, 'organization', p.organization, 'role', p.role,
                           'country', p.country, 'side', p.side)
                       -- A person with a Wikidata id is found by it again on import.
                       ELSE json_build_object(
                           'name', pe.name, 'organization', p.organization, 'role', p.role,
                           'country', p.country, 'side', p.side, 'wikidata', qid.value) END
                   ORDER BY p.position, p.id)
              FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
              LEFT JOIN person_identifiers qid ON qid.person_id = p.person_id AND qid.scheme = 'wikidata'
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
    "::jsonb - 'meeting_id' - 'related_from' - 'cameo'
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

/// Participant `p` (with their person `pe`) as a PLOVER actor entity: the country's
/// alpha-3 code as stored (former states stay former), `GOV` for an official, the name,
/// the office held and the person's Wikidata QID; keys without a value are left out.
macro_rules! plover_entity {
    () => {
        "json_strip_nulls(json_build_object(
            'code', p.country,
            'sector', CASE WHEN p.person_id IS NOT NULL AND p.role IS NOT NULL THEN 'GOV' END,
            'entity_text', coalesce(pe.name, p.organization),
            'office', p.role,
            'identifier_id', (SELECT i.value FROM person_identifiers i
                               WHERE i.person_id = p.person_id AND i.scheme = 'wikidata')))"
    };
}

/// Where meeting `m` took place, as a PLOVER location (geonames field names, `cc3` for
/// the alpha-3 code), or null.
macro_rules! plover_location {
    () => {
        "CASE WHEN m.city IS NULL AND m.location_country IS NULL AND m.lat IS NULL AND m.lon IS NULL
              THEN NULL
              ELSE json_strip_nulls(json_build_object('name', m.city, 'latitude', m.lat,
                                                      'longitude', m.lon, 'cc3', m.location_country)) END"
    };
}

/// Meeting `m`'s first source as a PLOVER citation, or null.
macro_rules! plover_citation {
    () => {
        "(SELECT json_strip_nulls(json_build_object('url', so.url, 'title', so.title,
                                                    'publication', so.publisher))
            FROM sources so WHERE so.meeting_id = m.id ORDER BY so.position LIMIT 1)"
    };
}

/// Meeting `m` as PLOVER (Draft 2.0) records, one JSON text per line: a `CONSULT` for
/// the meeting, then an `AGREE` (not yet signed) or `SUPPORT` (signed) for each of its
/// agreements, all sharing the meeting's id as their `link`. `sides` holds the
/// meeting's acting side and whether it met on third ground, read once.
pub const PLOVER_RECORDS: &str = concat!(
    "(SELECT string_agg(records.record::text, E'\\n' ORDER BY records.ord)
        FROM (SELECT 0::bigint AS ord, json_build_object(
                  'id', m.id,
                  'date', m.date,
                  'enddate', m.end_date,
                  'event', 'CONSULT',
                  'quad_code', 1,
                  'mode', CASE WHEN m.kind IN ('phone_call', 'video_call') THEN 'phone'
                               WHEN m.kind IN ('multilateral', 'summit') THEN 'multilateral'
                               WHEN sides.third THEN 'third-party'
                               WHEN sides.acting IS NOT NULL THEN 'visit' END,
                  'context', plover_contexts(m.topics),
                  'cameo', ",
    meeting_cameo!("sides.acting", "sides.third"),
    ",
                  'actor', coalesce((SELECT json_agg(",
    plover_entity!(),
    " ORDER BY p.position, p.id)
                        FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                       WHERE p.meeting_id = m.id AND (sides.acting IS NULL OR p.side = sides.acting)), '[]'),
                  'recipient', coalesce((SELECT json_agg(",
    plover_entity!(),
    " ORDER BY p.position, p.id)
                        FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                       WHERE p.meeting_id = m.id AND sides.acting IS NOT NULL
                         AND p.side IS DISTINCT FROM sides.acting),
                      -- Guests visiting a country none of whose people is named: the country.
                      CASE WHEN sides.acting = 'guest' AND m.host_country IS NOT NULL
                                AND NOT EXISTS (SELECT 1 FROM participants g WHERE g.meeting_id = m.id
                                                   AND g.side = 'guest' AND g.country = m.host_country)
                           THEN json_build_array(json_build_object('code', m.host_country)) END,
                      '[]'),
                  'event_loc', ",
    plover_location!(),
    ",
                  'event_text', json_build_array(m.title),
                  'link', m.id,
                  'cite_info', ",
    plover_citation!(),
    ") AS record
                FROM (SELECT ",
    acting_side!(),
    " AS acting, ",
    on_third_ground!(),
    " AS third) sides
              UNION ALL
              SELECT row_number() OVER (ORDER BY a.position, a.id), json_build_object(
                  'id', a.id,
                  'date', CASE WHEN agreed.cameo = '057' THEN coalesce(a.signed_on, m.date) ELSE m.date END,
                  'enddate', NULL,
                  'event', CASE WHEN agreed.cameo = '057' THEN 'SUPPORT' ELSE 'AGREE' END,
                  'quad_code', 1,
                  'mode', NULL,
                  'context', plover_contexts(a.topics),
                  'cameo', agreed.cameo,
                  'actor', coalesce((SELECT json_agg(json_build_object('code', party) ORDER BY n)
                                       FROM unnest(a.parties) WITH ORDINALITY AS parties(party, n)), '[]'),
                  -- A pledge is made to the meeting's other countries.
                  'recipient', CASE WHEN a.kind = 'pledge' AND cardinality(a.parties) > 0
                                    THEN coalesce((SELECT json_agg(json_build_object('code', c) ORDER BY c)
                                                     FROM unnest(m.countries) AS c
                                                    WHERE c <> ALL (a.parties)), '[]')
                                    ELSE '[]' END,
                  'event_loc', ",
    plover_location!(),
    ",
                  'event_text', json_build_array(a.title),
                  'link', m.id,
                  'cite_info', ",
    plover_citation!(),
    ",
                  'agreement_kind', a.kind,
                  'agreement_status', a.status,
                  'signed_on', a.signed_on,
                  'due_by', a.due_by)
                FROM agreements a
                CROSS JOIN LATERAL (SELECT agreement_cameo(a.kind, a.status, a.signed_on, a.topics) AS cameo) agreed
               WHERE a.meeting_id = m.id) records)"
);
