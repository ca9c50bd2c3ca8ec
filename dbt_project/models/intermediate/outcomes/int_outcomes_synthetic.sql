-- Whether a district's counts of an outcome feed in a financial year rest on any file the platform
-- generated (the demo's extracts) rather than a partner's: every outcome mart carries it.
select lineage.feed, lineage.lad_code, lineage.financial_year,
       bool_or(coalesce(files.is_synthetic, false)) as is_synthetic
from {{ ref('int_outcome_files') }} as lineage
left join {{ ref('stg_ops__files') }} as files on files.file_id = lineage.file_id
group by 1, 2, 3
