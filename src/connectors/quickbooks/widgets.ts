// QuickBooks Online widgets for the CFO: profit and loss, receivables by age, overdue invoices.
import { invoiceWidgets } from './invoices-widget.js';
import { reportWidgets } from './reports-widgets.js';

export const widgets = { ...reportWidgets, ...invoiceWidgets };
