-- One check per row of the seed apportionment_rules: its example area is shared among exactly the
-- number of districts the rule says (City of London Police: the City alone; the Metropolitan
-- Police: the 32 boroughs; ...). Returns the rules that do not hold.
with

rules as (

    select * from {{ ref('apportionment_rules') }}

),

found as (

    select rules.place_level, rules.area_level, rules.example_area_code, rules.example_districts,
           count(distinct areas.lad_code) as districts
    from rules
    left join {{ ref('int_district_areas') }} as areas
        on areas.area_code = rules.example_area_code and areas.area_level = rules.area_level
    group by 1, 2, 3, 4

)

select * from found where districts <> example_districts
