import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, Observable } from 'rxjs';
import { map } from 'rxjs/operators';

import type { DataSource } from './datasource';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import { NetlensVariableQuery } from './types';
import { variableQueryText } from './variableQuery';

/**
 * Query variables of this data source: the editor builds the text form
 * (`pod?namespace=$namespace`) and the values come from the backend's
 * /values/<label> resource over the dashboard's time range (metricFindQuery).
 */
export class NetlensVariableSupport extends CustomVariableSupport<DataSource, NetlensVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<NetlensVariableQuery>): Observable<DataQueryResponse> {
    const query = variableQueryText(request.targets[0]);
    return from(this.datasource.metricFindQuery(query, { range: request.range, scopedVars: request.scopedVars })).pipe(
      map((values) => ({ data: values }))
    );
  }
}
