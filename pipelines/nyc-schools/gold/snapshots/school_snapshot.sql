{% snapshot school_snapshot %}
{{
    config(
      target_schema='gold',
      unique_key='dbn',
      strategy='timestamp',
      updated_at='source_ingested_at'
    )
}}
-- SCD2 history of school attributes: a new version whenever a newer reference file changes a school.
select dbn, school_name, borough_code, district, managed_by, school_category, grades, status, is_open,
       address, latitude, longitude, source_ingested_at
from {{ ref('stg_school_locations') }}
{% endsnapshot %}
