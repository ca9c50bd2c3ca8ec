-- Authorities whose revenue return for a year was not received: every figure of their row withheld
-- ("[x]": "data not received in time for publication", or ".."). Their own spend is missing from
-- fct_spend and from every place figure that year - a district's spend per head then holds only its
-- share of police, fire and combined authorities - so a gap is not taken for a fall in spending
-- (mart_total_place's is_council_return_missing reads this).
with

lines as (

    select * from {{ ref('stg_council__revenue_lines') }}

)

select
    financial_year::text as financial_year,
    authority_code::text as authority_code,
    min(authority_name)::text as authority_name,
    figure_kind::text as figure_kind,
    file_id::bigint as file_id,
    'no return: every figure of the authority withheld in the file'::text as reason
from lines
group by financial_year, authority_code, figure_kind, file_id
having bool_and(is_amount_suppressed)
