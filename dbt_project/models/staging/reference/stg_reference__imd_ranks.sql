with

source as (

    select * from {{ source('raw_reference', 'reference__ons_imd2019') }}

),

renamed as (

    select
        -- ids
        lsoa_code,

        -- deprivation
        imd_rank,
        -- deciles of the 32,844 English LSOAs: 1 = most deprived tenth
        least(10, ((imd_rank - 1) * 10 / 32844) + 1)::integer as imd_decile,
        2019 as imd_year

    from source
    where _file_id = (select max(_file_id) from source)

)

select * from renamed
