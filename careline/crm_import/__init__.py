"""CSV import of CRM records (customers, sites, devices, contracts), read with pandas,
checked row by row with the rules the API applies, with a report of the rejected rows."""
