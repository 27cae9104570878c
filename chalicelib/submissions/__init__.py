"""Enquiries and accessible-format requests: validated (`fields`), stored
(`intake`), then sent by SES (`delivery`, `emails`, `ses`) on a retry
`policy`; `staff` holds what staff do by hand."""
