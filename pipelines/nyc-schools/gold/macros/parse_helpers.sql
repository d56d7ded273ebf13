{#- Reference files publish numbers as text: `s` for suppressed counts, `No Data`, `35.8%`. -#}
{% macro to_number(column) -%}
  try_cast(nullif(nullif(trim(replace({{ column }}, '%', '')), 's'), 'No Data') as double)
{%- endmacro %}

{% macro to_share(column) -%}
  ({{ to_number(column) }} / 100.0)
{%- endmacro %}

{% macro borough_name(code) -%}
  case {{ code }}
    when 'M' then 'Manhattan' when 'X' then 'Bronx' when 'K' then 'Brooklyn'
    when 'Q' then 'Queens' when 'R' then 'Staten Island'
  end
{%- endmacro %}
