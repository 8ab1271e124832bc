-- Issue 13 (lists): see the PostgreSQL migration for the comments.
ALTER TABLE customers ADD COLUMN search_key TEXT;
