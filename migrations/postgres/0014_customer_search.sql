-- Issue 13 (lists): customers are searched without regard to accents or case
-- ("élodie" and "BRULE" find "Élodie Château-Brûlé"). The key is the name and
-- e-mail folded by the program (billing::customers::search_key), written with
-- every change; rows from before are filled at the next start.
ALTER TABLE customers ADD COLUMN search_key TEXT;
