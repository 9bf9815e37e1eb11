-- Schema version 4: where a credential's envelope file was put, so that a
-- delivery interrupted between commit and rename can be completed.
ALTER TABLE support_credentials ADD COLUMN envelope_path TEXT NOT NULL DEFAULT '';
