-- How many funding streams each council received per year, and the ring-fenced share
select authority_name, financial_year, figure_kind, funding_streams, total_funding, ring_fenced_share
from marts.mart_funding_streams
order by authority_name, financial_year;
