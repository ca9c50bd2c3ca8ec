-- Which services people move between, and in which order: for each pair of services, how many
-- people went from one straight to the other (their next event with any agency), over all years.
-- A person counts once per pair; totals are sums over pairs. Disclosure controlled with secondary
-- suppression across both the from and the to service.
with

ordered as (

    select
        person_id,
        service,
        lag(service) over (partition by person_id order by event_date, service) as previous_service
    from {{ ref('int_person_events') }}

),

moves as (

    select distinct person_id, previous_service as from_service, service as to_service
    from ordered
    where previous_service is not null and previous_service <> service

),

cells as (

    select
        case when grouping(from_service) = 1 then 'all' else from_service end as from_service,
        case when grouping(to_service) = 1 then 'all' else to_service end as to_service,
        count(*) as people
    from moves
    group by grouping sets ((from_service, to_service), (from_service), (to_service), ())

),

controlled as (

    {{ secondary_suppression('cells', 'people', ['from_service', 'to_service']) }}

)

select
    from_service::text as from_service,
    to_service::text as to_service,
    published_count::bigint as people,
    is_suppressed::boolean as is_suppressed
from controlled
