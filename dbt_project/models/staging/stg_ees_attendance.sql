{{ stg_ees('ees_attendance', ['sess_possible', 'sess_overall', 'sess_authorised', 'sess_unauthorised',
                              'enrolments', 'enrolments_pa_10_exact']) }}
