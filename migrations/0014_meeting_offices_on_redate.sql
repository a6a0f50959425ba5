-- Every write to a meeting's items touches the meeting (its version and time), and the
-- statement trigger of 0013 that rebuilds a meeting's offices when its date or its
-- countries change ran on each of those touches, calling a function that joined the
-- statement's old and new rows only to find nothing to do. A row trigger whose WHEN
-- clause compares the two columns is not called at all unless one of them changed.
DROP TRIGGER meetings_offices_on_update ON meetings;
DROP FUNCTION meetings_redated_offices();

CREATE FUNCTION meeting_redated_offices() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_meeting_offices(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;

CREATE TRIGGER meeting_offices_on_redate AFTER UPDATE OF date, countries ON meetings
    FOR EACH ROW
    WHEN (OLD.date IS DISTINCT FROM NEW.date OR OLD.countries IS DISTINCT FROM NEW.countries)
    EXECUTE FUNCTION meeting_redated_offices();
