-- URSSAF declarations (issue 11): two settings of the seller.
--
-- services_category: where the services received are declared, "Prestations
-- de services BIC" (commercial or artisanal services) or "BNC" (liberal
-- professions); goods are always "Ventes de marchandises (BIC)".
-- declaration_frequency: the seller declares their turnover every month or
-- every quarter (the default, as URSSAF sets it at registration).
ALTER TABLE billing_settings
    ADD COLUMN services_category TEXT NOT NULL DEFAULT 'bic'
        CHECK (services_category IN ('bic', 'bnc'));
ALTER TABLE billing_settings
    ADD COLUMN declaration_frequency TEXT NOT NULL DEFAULT 'quarterly'
        CHECK (declaration_frequency IN ('monthly', 'quarterly'));
