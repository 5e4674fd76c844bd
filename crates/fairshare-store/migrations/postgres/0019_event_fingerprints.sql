-- A webhook body replayed under a new delivery id is the same event: each event is
-- also known by a fingerprint of its payload (SHA-256 of its canonical JSON), stored
-- once per platform. Events stored before keep no fingerprint.

ALTER TABLE sponsorship_events ADD COLUMN fingerprint TEXT;
CREATE UNIQUE INDEX sponsorship_events_fingerprint ON sponsorship_events (platform, fingerprint);
