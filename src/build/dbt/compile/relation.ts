/**
 * A database relation as dbt's Jinja sees it (`{{ this }}`, `{{ ref('x') }}`): it prints as the
 * quoted `schema.identifier`, and exposes `schema`, `identifier`, `name`, `database`. The database
 * part is kept for the manifest but not printed: the warehouse session's own catalog is used, so
 * the same SQL runs whatever the DuckDB file is called.
 */
export class Relation {
  readonly database: string | null;
  readonly schema: string;
  readonly identifier: string;
  readonly type: 'table' | 'view' | null;
  readonly #quote: (identifier: string) => string;

  constructor(
    parts: { database?: string | null; schema: string; identifier: string; type?: 'table' | 'view' | null },
    quote: (identifier: string) => string,
  ) {
    this.database = parts.database ?? null;
    this.schema = parts.schema;
    this.identifier = parts.identifier;
    this.type = parts.type ?? null;
    this.#quote = quote;
  }

  get name(): string {
    return this.identifier;
  }

  get table(): string {
    return this.identifier;
  }

  /** `"schema"."identifier"`. */
  render(): string {
    return `${this.#quote(this.schema)}.${this.#quote(this.identifier)}`;
  }

  /** `schema.identifier` unquoted, as dbt's progress lines show relations. */
  display(): string {
    return `${this.schema}.${this.identifier}`;
  }

  /** The same relation with another identifier (temporary and backup names). */
  withIdentifier(identifier: string): Relation {
    return new Relation({ database: this.database, schema: this.schema, identifier, type: this.type }, this.#quote);
  }

  /** dbt's `relation.include(...)` / `incorporate(...)`: Medallion prints two parts either way. */
  include(): Relation {
    return this;
  }

  incorporate(): Relation {
    return this;
  }

  quote(): Relation {
    return this;
  }

  toString(): string {
    return this.render();
  }
}

/**
 * What a `ref` to an ephemeral model prints: the name of the CTE it is inlined as (dbt's
 * `__dbt__cte__<name>`).
 */
export class EphemeralRelation extends Relation {
  override render(): string {
    return this.identifier;
  }
}
