-- mart_children_in_care publishes the council's line of int_cohort_cells_suppressed (the people
-- known to the council, and their council cost) as children in care and their cost of care, and
-- mart_offending_concentration the police's line as all offenders and the cost of their crime.
-- That holds while the council's only person-level feed is children's social care and the
-- police's only one offences: a person known to the council who is not a child in care (or to the
-- police without an offence) fails this test, and the build stops before a mart mislabels them.
select person_id, financial_year, agency_combination, is_child_in_care, offences
from {{ ref('int_people_by_year') }}
where is_child_in_care is distinct from ('council' = any(string_to_array(agency_combination, '+')))
    or (offences > 0) is distinct from ('police' = any(string_to_array(agency_combination, '+')))
