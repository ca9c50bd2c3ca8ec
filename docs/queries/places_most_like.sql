-- The ten places most like a given place (Barnet, E09000003), and how its crime rate ranks among them
select neighbour_rank, neighbour_name, distance, neighbour_crimes_per_1000, place_crimes_per_1000,
       place_crime_rank_among_neighbours
from marts.mart_place_neighbours
where lad_code = 'E09000003'
order by neighbour_rank;
