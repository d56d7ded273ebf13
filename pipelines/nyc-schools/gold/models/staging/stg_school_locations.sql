-- One row per school (DBN) from the locations file; a DBN listed twice keeps its open row.
with ranked as (
    select
        *,
        row_number() over (
            partition by system_code
            order by case when status_descriptions = 'Open' then 0 else 1 end, _source_row
        ) as rn
    from {{ source('silver', 'school_locations') }}
    where regexp_full_match(system_code, '^[0-9]{2}[MXKQR][0-9]{3}$')
)
select
    system_code as dbn,
    trim(location_name) as school_name,
    substr(system_code, 3, 1) as borough_code,
    cast(substr(system_code, 1, 2) as integer) as district,
    managed_by_name as managed_by,
    location_category_description as school_category,
    location_type_description as school_type,
    grades_final_text as grades,
    status_descriptions as status,
    status_descriptions = 'Open' as is_open,
    try_cast(open_date as timestamp) as open_date,
    primary_address_line_1 as address,
    nta_name as neighborhood,
    try_cast(latitude as double) as latitude,
    try_cast(longitude as double) as longitude,
    _ingested_at as source_ingested_at
from ranked
where rn = 1
