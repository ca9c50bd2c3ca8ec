-- Spend lines no theme mapping matched (theme "other" by default, not dropped): what to add to
-- seeds/theme_map.csv. Lines deliberately mapped to "other" (e.g. highways) are not listed.
select
    s.feed::text as feed,
    s.agency_type::text as agency_type,
    s.line_description::text as line_description,
    count(*)::bigint as spend_lines,
    sum(s.amount)::numeric(18, 2) as amount
from {{ ref('fct_spend') }} as s
where s.theme_code = 'other'
  and not exists (
      select 1 from {{ ref('theme_map') }} as m
      where m.theme_code = 'other' and s.line_description ~* m.pattern
  )
group by 1, 2, 3
