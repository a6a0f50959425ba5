-- Every instance keeps rendered answers in memory (src/http/cache.rs) and learns of
-- changes through LISTEN "chancery_changes". The notifications are sent inside the
-- writing transaction, so they are delivered when, and only if, it commits, and in
-- commit order.
--
-- A meeting's notification names it ('meeting:<id>'): every change to a meeting or
-- to one of its items updates the meeting's row (its version), so one trigger on
-- `meetings` covers them all. Changes to people are announced once per statement:
-- 'people:insert' for new people, whom no stored document names yet, and
-- 'people:update' or 'people:delete' for changes that documents naming them show.
CREATE FUNCTION notify_meeting_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chancery_changes',
                      'meeting:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_notify
    AFTER INSERT OR UPDATE OR DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION notify_meeting_change();

-- The trigger's argument, when it has one, names the change instead of the operation.
CREATE FUNCTION notify_people_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chancery_changes', 'people:' || coalesce(TG_ARGV[0], lower(TG_OP)));
    RETURN NULL;
END
$$;

CREATE TRIGGER people_notify
    AFTER INSERT OR UPDATE OR DELETE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION notify_people_change();

-- An identifier added to a person already named in documents changes them.
CREATE TRIGGER person_identifiers_notify
    AFTER INSERT OR UPDATE OR DELETE ON person_identifiers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_people_change('update');
