/**
 * Passwords of the required length that appear near the top of public breach lists,
 * plus patterns people reach for in a Chinese setting. Compared case-insensitively.
 */
export const COMMON_PASSWORDS = new Set([
  '123456789012', '1234567890123', '12345678901234', '123456789000', '1234567890qwe',
  '111111111111', '000000000000', '123123123123', '112233445566', '123412341234',
  '987654321098', '098765432109', '121212121212', '147258369147', '123456123456',
  'password1234', 'password12345', 'password123456', 'passw0rd1234', 'p@ssw0rd1234',
  'p@ssword1234', 'password!234', 'passwordpassword', 'password1111', 'password0000',
  'qwertyuiop12', 'qwertyuiop123', 'qwerty123456', 'qwerty1234567', '1qaz2wsx3edc',
  '1q2w3e4r5t6y', 'q1w2e3r4t5y6', 'qwertyuiopas', 'asdfghjkl123', 'zxcvbnm12345',
  'iloveyou1234', 'welcome12345', 'admin1234567', 'administrator', 'adminadmin12',
  'letmein12345', 'abcdefghijkl', 'abc123456789', 'abcd12345678', 'aaaaaaaaaaaa',
  'changeme1234', 'default12345', 'secret123456', 'football1234', 'baseball1234',
  'woaini1314520', 'woaini123456', '5201314520131', '520131452013', 'a123456789012',
  'qq1234567890', 'zhang1234567', 'wang12345678', 'li1234567890', 'china1234567',
  'beijing12345', 'shanghai1234', 'xining123456', 'qinghai12345', 'registry1234',
  'contract1234', 'technology12', 'jishuhetong1', 'kejiju123456', 'huawei123456',
]);

export function isCommonPassword(password: string): boolean {
  return COMMON_PASSWORDS.has(password.toLowerCase());
}

/**
 * Words people in a Chinese setting build passwords from, for the strength estimator's
 * dictionary (it knows English words and names, not pinyin): the most common surnames, given-name
 * syllables, and words and places often used.
 */
export const PINYIN_WORDS = [
  'wang', 'li', 'zhang', 'liu', 'chen', 'yang', 'huang', 'zhao', 'wu', 'zhou', 'xu', 'sun', 'ma', 'zhu', 'hu', 'guo', 'he',
  'gao', 'lin', 'luo', 'zheng', 'liang', 'xie', 'song', 'tang', 'han', 'feng', 'deng', 'cao', 'peng', 'zeng', 'xiao', 'tian',
  'dong', 'pan', 'yuan', 'cai', 'jiang', 'yu', 'du', 'ye', 'cheng', 'wei', 'su', 'lu', 'ding', 'ren', 'shen', 'yao', 'jin',
  'wei', 'fang', 'min', 'jing', 'li', 'qiang', 'lei', 'jun', 'yang', 'yong', 'yan', 'jie', 'tao', 'ming', 'chao', 'xiu', 'ying',
  'hua', 'hong', 'ping', 'gang', 'bo', 'hui', 'xin', 'yi', 'xiaoming', 'xiaohong', 'laoshi', 'baobao', 'aini', 'woaini',
  'wodeai', 'xingfu', 'kuaile', 'pingan', 'fuqi', 'zhongguo', 'beijing', 'shanghai', 'xining', 'qinghai', 'xizang', 'lasa',
  'kejiju', 'hetong', 'jishu', 'dengji', 'mima', 'yonghu', 'guanli', 'guanliyuan', 'daxue', 'yanjiuyuan', 'gongsi',
];
