-- School districts: 1-32 geographic, 75 special education, 79 alternative schools, 84 charter schools.
select
    district,
    case
        when district between 1 and 32 then 'geographic'
        when district = 75 then 'special education'
        when district = 79 then 'alternative'
        when district = 84 then 'charter'
        else 'other'
    end as district_type,
    case when district between 1 and 32 then mode(borough_code) end as borough_code,
    count(*) as schools,
    count(*) filter (where is_open) as open_schools
from {{ ref('dim_school') }}
group by district
