-- Each representation is built in one place: the SQL expressions of
-- src/store/representation.rs, which the service writes into its queries. These
-- functions were the second copy (or, for the export and people, now live there
-- alone); nothing calls them any longer. Dropped in dependency order.
DROP FUNCTION meeting_export(meetings);
DROP FUNCTION meeting_document(meetings);
DROP FUNCTION meeting_summary(meetings);
DROP FUNCTION person_json(people);
DROP FUNCTION agreement_json(agreements);
DROP FUNCTION statement_json(statements);
DROP FUNCTION participant_json(participants);
DROP FUNCTION meeting_location_json(meetings);
