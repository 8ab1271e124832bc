-- Issue 13 (i18n): each operator reads the admin in their own language,
-- French unless they choose English (src/i18n).
ALTER TABLE operators ADD COLUMN language TEXT NOT NULL DEFAULT 'fr';
