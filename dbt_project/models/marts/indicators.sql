-- Indicator metadata as the catalogue (contracts/catalogue.yaml) states it, so readers of the
-- marts take names, units, polarity and decimals from the warehouse they read figures from.
select * from {{ ref('stg_catalogue_indicators') }}
