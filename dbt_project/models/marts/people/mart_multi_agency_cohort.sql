-- People known to one agency, or to two or more (police, council children's services, housing,
-- NHS), per district and financial year, and what they cost each agency: the pilots' "people at
-- the points where agencies meet". Disclosure controlled by int_cohort_cells_suppressed, the one
-- decision every cohort mart shares: counts 1-7 withheld, others rounded to 5; each agency's cost
-- is the money of the people of the cell known to that agency, withheld whenever that count is
-- (primary or secondary, in any table that publishes it), else rounded to £1,000; the cost per
-- person is the published cost divided by the published count, so it says no more than they do.
{%- set agencies = ['police', 'council', 'housing', 'nhs'] %}
with

cells as (

    select * from {{ ref('int_cohort_cells_suppressed') }}

),

pivoted as (

    -- one row per year, district and agencies known to; its agencies' cells side by side
    select
        financial_year,
        place_code,
        agencies_known_to,
        {%- for agency in agencies %}
        max(published_cost) filter (where agency = '{{ agency }}') as {{ agency }}_cost,
        {%- endfor %}
        max(published_people) filter (where agency = 'all') as people,
        bool_or(is_suppressed) filter (where agency = 'all') as is_suppressed,
        max(published_cost) filter (where agency = 'all') as total_cost
    from cells
    group by financial_year, place_code, agencies_known_to

)

select
    pivoted.financial_year::text as financial_year,
    pivoted.place_code::text as place_code,
    {{ cohort_place_name('pivoted.place_code', 'places.place_name') }} as place_name,
    pivoted.agencies_known_to::text as agencies_known_to,
    pivoted.people::bigint as people,
    pivoted.total_cost::numeric(18, 0) as total_cost,
    {%- for agency in agencies %}
    pivoted.{{ agency }}_cost::numeric(18, 0) as {{ agency }}_cost,
    {%- endfor %}
    round(pivoted.total_cost / nullif(pivoted.people, 0))::numeric(18, 0) as cost_per_person,
    pivoted.is_suppressed::boolean as is_suppressed
from pivoted
left join {{ ref('dim_place') }} as places
    on places.place_code = pivoted.place_code and places.place_level = 'lad'
