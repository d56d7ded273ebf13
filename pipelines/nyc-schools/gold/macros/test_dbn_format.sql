{#- A DBN is two digits of district, a borough letter (M X K Q R) and a three-digit number. -#}
{% test dbn_format(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not regexp_full_match({{ column_name }}, '^[0-9]{2}[MXKQR][0-9]{3}$')
{% endtest %}
