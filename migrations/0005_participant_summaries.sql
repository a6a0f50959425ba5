-- A page of meeting summaries looked up every meeting's participants and their people:
-- about 0.9 of the 1.4 ms a page of 50 cost PostgreSQL. Each meeting's participant
-- list, as summaries show it, is now kept ready, rebuilt by triggers whenever one of
-- its participants or a participant's person's name changes, by whatever path.
CREATE TABLE meeting_participant_summaries (
    meeting_id   uuid PRIMARY KEY REFERENCES meetings (id) ON DELETE CASCADE,
    participants json NOT NULL
);

CREATE FUNCTION participant_summary(meeting uuid) RETURNS json
    LANGUAGE sql STABLE
    RETURN coalesce((SELECT json_agg(json_build_object(
                                'person_id', p.person_id,
                                'name', coalesce(pe.name, p.organization),
                                'role', p.role, 'country', p.country, 'side', p.side)
                            ORDER BY p.position, p.id)
                       FROM participants p LEFT JOIN people pe ON pe.id = p.person_id
                      WHERE p.meeting_id = meeting), '[]');

CREATE FUNCTION refresh_participant_summaries(meeting_ids uuid[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(meeting_ids) = 0 THEN
        RETURN;
    END IF;
    -- Writers of one meeting take turns here, and the next statement reads what the
    -- writer before committed: under READ COMMITTED it takes its snapshot after the lock.
    -- NO KEY UPDATE, like every row lock the API takes before an edit, leaves rows that
    -- refer to the locked one free to be written: a rename holding its person and
    -- waiting here never waits on a writer whose foreign-key check waits on that person.
    PERFORM 1 FROM meetings WHERE id = ANY (meeting_ids) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO meeting_participant_summaries (meeting_id, participants)
    SELECT m.id, participant_summary(m.id) FROM meetings m WHERE m.id = ANY (meeting_ids)
    ON CONFLICT (meeting_id) DO UPDATE SET participants = EXCLUDED.participants;
END
$$;

CREATE FUNCTION participants_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_participant_summaries(ARRAY(SELECT DISTINCT meeting_id FROM new_participants));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM refresh_participant_summaries(ARRAY(
            SELECT meeting_id FROM new_participants UNION SELECT meeting_id FROM old_participants));
    ELSE
        PERFORM refresh_participant_summaries(ARRAY(SELECT DISTINCT meeting_id FROM old_participants));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER participants_summarised_on_insert AFTER INSERT ON participants
    REFERENCING NEW TABLE AS new_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed();
CREATE TRIGGER participants_summarised_on_update AFTER UPDATE ON participants
    REFERENCING OLD TABLE AS old_participants NEW TABLE AS new_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed();
CREATE TRIGGER participants_summarised_on_delete AFTER DELETE ON participants
    REFERENCING OLD TABLE AS old_participants
    FOR EACH STATEMENT EXECUTE FUNCTION participants_changed();

CREATE FUNCTION people_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_participant_summaries(ARRAY(
        SELECT DISTINCT p.meeting_id
          FROM new_people n JOIN old_people o ON o.id = n.id
          JOIN participants p ON p.person_id = n.id
         WHERE n.name IS DISTINCT FROM o.name));
    RETURN NULL;
END
$$;

CREATE TRIGGER people_summarised_on_rename AFTER UPDATE ON people
    REFERENCING OLD TABLE AS old_people NEW TABLE AS new_people
    FOR EACH STATEMENT EXECUTE FUNCTION people_renamed();

-- Fills the table for every meeting at once: here, and after a bulk load that ran
-- with the triggers off (`chancery generate`).
CREATE FUNCTION fill_participant_summaries() RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO meeting_participant_summaries (meeting_id, participants)
    SELECT p.meeting_id, participant_summary(p.meeting_id)
      FROM (SELECT DISTINCT meeting_id FROM participants) p
    ON CONFLICT (meeting_id) DO UPDATE SET participants = EXCLUDED.participants;
$$;

SELECT fill_participant_summaries();

ANALYZE meeting_participant_summaries;
