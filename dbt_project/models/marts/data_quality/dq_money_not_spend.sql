-- Money in the files that is deliberately not counted as spend, column by column, with the reason its
-- feed's contract gives (income, parts of a net figure, the file's own totals ...). With fct_spend
-- it accounts for every money column of every wide return: none is left out without a reason.
select
    feed::text as feed,
    file_id::bigint as file_id,
    file_name::text as file_name,
    column_number::integer as column_number,
    column_header::text as column_header,
    role::text as role,
    reason::text as reason,
    amount::numeric(18, 2) as amount
from {{ ref('stg_ops__file_money_columns') }}
where role <> 'spend'
