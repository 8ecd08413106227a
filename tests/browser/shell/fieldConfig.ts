// Grafana's frontend registers the standard field options (unit, decimals,
// links, ...) and the standard option editors at startup. Panels' field config registries
// are built from them, and an override of a property not in the registry is
// silently dropped: without them a panel loses every override (a column's
// unit, a column's data links) and still renders. The shell has no panel
// editor, so each option here has no editor.
import {
  FieldConfigProperty,
  FieldType,
  dataLinksOverrideProcessor,
  displayNameOverrideProcessor,
  identityOverrideProcessor,
  numberOverrideProcessor,
  standardEditorsRegistry,
  standardFieldConfigEditorRegistry,
  stringOverrideProcessor,
  thresholdsOverrideProcessor,
  unitOverrideProcessor,
  valueMappingsOverrideProcessor,
  type Field,
  type FieldConfigPropertyItem,
} from '@grafana/data';

const noEditor = () => null;
const always = () => true;
const notTime = (f: Field) => f.type !== FieldType.time;

const options: Array<[FieldConfigProperty, FieldConfigPropertyItem['process'], (f: Field) => boolean]> = [
  [FieldConfigProperty.Unit, unitOverrideProcessor, always],
  [FieldConfigProperty.Min, numberOverrideProcessor, notTime],
  [FieldConfigProperty.Max, numberOverrideProcessor, notTime],
  [FieldConfigProperty.Decimals, numberOverrideProcessor, notTime],
  [FieldConfigProperty.DisplayName, displayNameOverrideProcessor, always],
  [FieldConfigProperty.NoValue, stringOverrideProcessor, always],
  [FieldConfigProperty.Links, dataLinksOverrideProcessor, always],
  [FieldConfigProperty.Mappings, valueMappingsOverrideProcessor, always],
  [FieldConfigProperty.Thresholds, thresholdsOverrideProcessor, always],
  [FieldConfigProperty.Color, identityOverrideProcessor, always],
];

export function registerFieldConfig() {
  standardFieldConfigEditorRegistry.setInit(() =>
    options.map(([id, process, shouldApply]) => ({
      id,
      path: id,
      name: id,
      process,
      shouldApply,
      editor: noEditor,
      override: noEditor,
    }))
  );
}

// The option editors panels' options builders look up by id (a panel's
// setPanelOptions with addRadio, addBooleanSwitch, ...): without them a
// panel's options fail to build and the panel does not load.
const editorIds = [
  'boolean',
  'color',
  'dashboard-uid',
  'field-name',
  'multi-select',
  'number',
  'radio',
  'select',
  'slider',
  'strings',
  'text',
  'timezone',
  'unit',
];

export function registerOptionEditors() {
  standardEditorsRegistry.setInit(() => editorIds.map((id) => ({ id, name: id, editor: noEditor })));
}
