import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';

/** The frame and heading of the custom scene objects, which sit among Grafana's panels. */
export const getPanelBoxStyles = (theme: GrafanaTheme2) => ({
  container: css({
    width: '100%',
    padding: theme.spacing(1, 2),
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.primary,
    overflow: 'auto',
  }),
  heading: css({
    fontSize: theme.typography.h5.fontSize,
    marginBottom: theme.spacing(1),
  }),
});
